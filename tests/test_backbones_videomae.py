"""cvkit.core.backbones, video MAE part: tubelet patchify round trip, normalised targets, the Gumbel top-k sampler's
law, the three classic masks, encoder equivariance to the order of visible tokens, our block against
torch's TransformerEncoderLayer with copied weights, and clear errors on bad input."""
import pytest
import torch

from cvkit.core.backbones import (VideoMAE, ViTBlock, check_mask, frame_mask, gumbel_top_k_mask, mask_counts,
                                  patch_targets, random_patch_mask, random_tube_mask, sincos_positions_3d,
                                  tile_over_time, tubelet_patchify, tubelet_unpatchify)


def test_patchify_round_trip_and_layout():
    x = torch.randn(3, 2, 6, 8, 12, generator=torch.Generator().manual_seed(0))
    tok = tubelet_patchify(x, patch=4, tubelet=2)
    assert tok.shape == (3, 3 * 2 * 3, 2 * 16 * 2)
    assert torch.equal(tubelet_unpatchify(tok, shape=(2, 6, 8, 12), patch=4), x)
    # token (t=1, row=1, col=2), channel 1, first voxel is x[:, 1, 2, 4, 8]
    assert torch.equal(tok[:, 1 * 6 + 1 * 3 + 2].reshape(3, 2, 4, 4, 2)[:, 0, 0, 0, 1], x[:, 1, 2, 4, 8])


def test_patchify_errors():
    with pytest.raises(ValueError, match="divisible"):
        tubelet_patchify(torch.zeros(1, 1, 3, 8, 8), patch=4)
    with pytest.raises(ValueError, match="divisible"):
        tubelet_patchify(torch.zeros(1, 1, 4, 8, 6), patch=4)
    with pytest.raises(ValueError, match=r"\(B, C, T, H, W\)"):
        tubelet_patchify(torch.zeros(1, 4, 8, 8), patch=4)
    with pytest.raises(ValueError, match="do not fit"):
        tubelet_unpatchify(torch.zeros(1, 5, 32), shape=(1, 4, 8, 8), patch=4)


def test_targets_are_zero_mean_unit_variance_per_patch_and_channel():
    tok = torch.rand(2, 5, 24, generator=torch.Generator().manual_seed(1)) * 7 + 3
    t = patch_targets(tok, channels=3).reshape(2, 5, 8, 3)
    assert torch.allclose(t.mean(2), torch.zeros(2, 5, 3), atol=1e-5)
    assert torch.allclose(t.var(2), torch.ones(2, 5, 3), atol=1e-4)
    with pytest.raises(ValueError, match="channels"):
        patch_targets(tok, channels=5)


def test_positions_are_distinct_and_bounded():
    pe = sincos_positions_3d((2, 3, 4), 64)
    assert pe.shape == (24, 64) and pe.abs().max() <= 1
    assert torch.cdist(pe, pe).add(torch.eye(24) * 10).min() > 1e-3  # every token has its own code
    assert torch.all(pe[:, 60:] == 0)  # 64 = 6·10 + 4 padded channels
    with pytest.raises(ValueError, match="dim"):
        sincos_positions_3d((2, 2, 2), 4)


def test_mask_counts_and_errors():
    assert mask_counts(64, 0.8) == (51, 13) and mask_counts(10, 0.5) == (5, 5)
    with pytest.raises(ValueError, match="visible"):
        mask_counts(4, 0.9)  # rounds to 4 masked, no visible token
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        mask_counts(10, 1.0)


def test_gumbel_top_k_matches_successive_sampling_law():
    """Two draws without replacement from weights (3, 1, 1): P(item 0 in the set) = 3/5 + 2·(1/5)(3/4) = 0.9."""
    g = torch.Generator().manual_seed(0)
    m = gumbel_top_k_mask(torch.log(torch.tensor([[3.0, 1.0, 1.0]])).expand(40000, 3), 2, generator=g)
    assert m.sum(1).eq(2).all()
    assert abs(float(m[:, 0].float().mean()) - 0.9) < 0.01
    with pytest.raises(ValueError, match="k"):
        gumbel_top_k_mask(torch.zeros(2, 3), 4)


def test_classic_masks():
    g = torch.Generator().manual_seed(0)
    tube = random_tube_mask(4, (4, 3, 3), ratio=0.7, generator=g).reshape(4, 4, 9)
    assert (tube == tube[:, :1]).all() and tube[:, 0].sum(1).eq(6).all()
    patch = random_patch_mask(4, (4, 3, 3), ratio=0.5, generator=g)
    assert patch.sum(1).eq(18).all()
    frame = frame_mask(4, (4, 3, 3), ratio=0.5, generator=g).reshape(4, 4, 9)
    assert (frame.all(2) | ~frame.any(2)).all() and frame.all(2).sum(1).eq(2).all()
    assert torch.equal(tile_over_time(torch.tensor([[True, False]]), 3), torch.tensor([[True, False] * 3]))
    # the same generator state gives the same tube: common random numbers across arms
    a = random_tube_mask(2, (2, 4, 4), ratio=0.75, generator=torch.Generator().manual_seed(5))
    b = random_tube_mask(2, (2, 4, 4), ratio=0.75, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


@pytest.fixture(scope="module")
def mae() -> VideoMAE:
    torch.manual_seed(0)
    return VideoMAE(frames=4, size=16, patch=8, dim=24, depth=2, heads=2, decoder_dim=12).eval()


def test_encoder_is_equivariant_to_visible_token_order(mae):
    x = torch.rand(2, 1, 4, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        tok = mae.embed_tokens(x)
        perm = torch.randperm(tok.shape[1], generator=torch.Generator().manual_seed(2))
        run = lambda t: mae.norm(mae.blocks[1](mae.blocks[0](t)))  # noqa: E731
        assert torch.allclose(run(tok)[:, perm], run(tok[:, perm]), atol=1e-5)


def test_loss_is_on_masked_tokens_and_features_have_the_width(mae):
    x = torch.rand(2, 1, 4, 16, 16, generator=torch.Generator().manual_seed(3))
    mask = random_tube_mask(2, mae.grid, ratio=0.5, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        err = mae.token_errors(x, mask)
        assert err.shape == (2, 8) and torch.isclose(mae.loss(x, mask), err[mask].mean())
        assert mae.encode(x, mask).shape == (2, 4, 24) and mae.features(x).shape == (2, 24)


def test_model_errors(mae):
    with pytest.raises(ValueError, match="clips must be"):
        mae.encode(torch.zeros(1, 1, 6, 16, 16))
    with pytest.raises(ValueError, match="same, non-zero"):
        check_mask(torch.tensor([[True, False], [True, True]]), 2, 2)
    with pytest.raises(ValueError, match="bool"):
        check_mask(torch.zeros(1, 8), 1, 8)
    with pytest.raises(ValueError, match="divisible"):
        VideoMAE(frames=5, size=16, patch=8)


def test_block_matches_torch_encoder_layer_with_copied_weights():
    torch.manual_seed(0)
    ours = ViTBlock(32, 4).eval()
    ref = torch.nn.TransformerEncoderLayer(32, 4, 128, dropout=0.0, activation="gelu", batch_first=True,
                                           norm_first=True).eval()
    ref.self_attn.load_state_dict(ours.attn.state_dict())
    ref.linear1.load_state_dict(ours.mlp[0].state_dict())
    ref.linear2.load_state_dict(ours.mlp[2].state_dict())
    ref.norm1.load_state_dict(ours.norm1.state_dict())
    ref.norm2.load_state_dict(ours.norm2.state_dict())
    x = torch.randn(3, 10, 32)
    with torch.no_grad():
        assert torch.allclose(ours(x), ref(x), atol=1e-5)
