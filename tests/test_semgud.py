from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from skimage.restoration import richardson_lucy
from sklearn.decomposition import PCA

from cvkit.core.claims import Measurement, NotMeasured
from cvkit.core.imaging import blind_deconvolve, convolve, linear_kernel
from cvkit.papers.semgud import (ARMS, BLURRY_PHOTOS, CLAIMS, CONFIGS, PINS, SHARP_PHOTOS, TEST_PHOTOS, BlurGenerator,
                                 NAFNetLite, PatchDiscriminator, SemgudConfig, UNet, arm_difference, classical_baselines,
                                 compute_matched_steps, evaluate, fold_patches, gaussian_kernel, interleaved_seconds,
                                 load_photo, make_domains, make_reconstructor, patch_pca, r_flops, random_crops, restore,
                                 rl_linear, rpc_loss, run_replicate, train_arm, unfold_patches, blind_map, dihedral, ema_update,
                                 uwiener_oracle)

TINY = SemgudConfig(n_sharp=16, n_blurry=16, n_test=4, steps=12, batch=4, refresh=3, n_map=2)


@pytest.fixture(scope="module")
def dom():
    return make_domains(TINY, 0)


def test_split_shares_no_photo_and_photos_are_offline():
    assert len(SHARP_PHOTOS) == 8 and len(BLURRY_PHOTOS) == 6 and len(TEST_PHOTOS) == 3
    assert not set(SHARP_PHOTOS) & set(BLURRY_PHOTOS) and not set(TEST_PHOTOS) & (set(SHARP_PHOTOS) | set(BLURRY_PHOTOS))
    for name in SHARP_PHOTOS + BLURRY_PHOTOS + TEST_PHOTOS:
        img = load_photo(name, side=64)
        assert min(img.shape) == 64 and img.min() >= 0 and img.max() <= 1
    with pytest.raises(ValueError, match="unknown"):
        load_photo("brain_mri", side=64)


def test_domains_are_seed_deterministic(dom):
    again = make_domains(TINY, 0)
    assert torch.equal(again.sharp, dom.sharp) and torch.equal(again.blurry, dom.blurry)
    assert not torch.equal(make_domains(TINY, 1).blurry, dom.blurry)
    assert dom.sharp.shape == (16, 1, 32, 32) and dom.test_blurry.shape == (4, 1, 32, 32)
    assert dom.test_kernels.shape == (4, TINY.ksize, TINY.ksize)
    with pytest.raises(ValueError, match="at least one image"):
        random_crops([], 3, 8, rng=np.random.default_rng(0))


def test_unfold_fold_round_trip_and_errors():
    x = torch.rand(2, 1, 32, 32)
    X = unfold_patches(x)
    assert X.shape == (2, 49, 64)
    assert torch.allclose(fold_patches(X, (32, 32)), x, atol=1e-6)
    with pytest.raises(ValueError, match="multiple of 4"):
        unfold_patches(torch.rand(1, 1, 30, 30))


def test_patch_pca_matches_sklearn():
    x = torch.rand(3, 1, 24, 24, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for k in (1, 3, 8):
        ours = patch_pca(x, k)
        for i in range(3):
            X = unfold_patches(x[i:i + 1])[0].numpy()
            p = PCA(n_components=k, svd_solver="full").fit(X)
            ref = fold_patches(torch.tensor(p.inverse_transform(p.transform(X)))[None], (24, 24))
            assert torch.allclose(ours[i:i + 1], ref, atol=1e-8)
    assert torch.allclose(patch_pca(x, 25), x, atol=1e-8)  # 25 patches: full rank is the identity
    with pytest.raises(ValueError, match="k must lie"):
        patch_pca(x, 100)


def test_rpc_loss_gradient_flows_only_into_the_generated_image():
    g = torch.rand(2, 1, 16, 16, requires_grad=True)
    d = torch.rand(2, 1, 16, 16, requires_grad=True)
    loss = rpc_loss(g, d, k=4)
    loss.backward()
    assert g.grad is not None and g.grad.abs().sum() > 0 and d.grad is None
    assert rpc_loss(d.detach(), d.detach(), k=4).item() == 0.0


def test_networks_shapes_identity_start_and_errors():
    x = torch.rand(2, 1, 32, 32)
    assert torch.equal(UNet(1, 8)(x), x)
    G = BlurGenerator(4, ksize=7)
    y = G(x, torch.randn_like(x))
    assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1
    k = G.kernels(torch.randn_like(x))
    assert k.shape == (2, 1, 7, 7) and torch.allclose(k.sum((1, 2, 3)), torch.ones(2))
    with pytest.raises(ValueError, match="odd"):
        BlurGenerator(4, ksize=4)
    with pytest.raises(ValueError, match="shape of s"):
        G(x, torch.randn(2, 1, 16, 16))
    assert NAFNetLite(8)(x).shape == x.shape and PatchDiscriminator(8)(x).shape == (2, 1, 8, 8)
    # both reconstructors start as the identity (the gpu scale's NAFNet-lite too: its last convolution starts at 0)
    assert torch.equal(NAFNetLite(8)(x), x)
    x64 = torch.rand(1, 1, 64, 64)
    assert torch.equal(make_reconstructor(CONFIGS["gpu"])(x64), x64)
    with pytest.raises(ValueError, match="multiples of 4"):
        UNet(1, 8)(torch.rand(1, 1, 30, 30))
    with pytest.raises(ValueError, match="multiples of 8"):
        NAFNetLite(8)(torch.rand(1, 1, 36, 36))
    with pytest.raises(ValueError, match="grey"):
        BlurGenerator(4)(torch.rand(1, 3, 32, 32), torch.rand(1, 1, 32, 32))
    with pytest.raises(ValueError, match="r_arch"):
        make_reconstructor(replace(TINY, r_arch="resnet"))


def test_restore_rejects_rgb_and_nan():
    R = UNet(1, 8)
    with pytest.raises(ValueError, match="grey"):
        restore(R, torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match="NaN"):
        restore(R, torch.full((1, 1, 32, 32), float("nan")))


def test_se_refreshes_every_m_steps_and_identity_control(dom):
    t = train_arm(TINY, ARMS["V3"], dom, 0, keep_pseudo=-1)
    warm = round(TINY.warmup * TINY.steps)
    assert [p["step"] for p in t.pseudo] == list(range(warm, TINY.steps, TINY.refresh))
    assert all(v == 0 for v in t.history["se"][:warm]) and all(v > 0 for v in t.history["se"][warm:])
    v1 = train_arm(TINY, ARMS["V1"], dom, 0)
    zero = train_arm(TINY, replace(ARMS["V3"], lambda_se=0.0), dom, 0)
    assert all(torch.equal(a, b) for a, b in zip(v1.R.parameters(), zero.R.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(v1.R.parameters(), t.R.parameters()))
    assert all(np.isfinite(v).all() for v in t.history.values())


def test_supervised_arms_train_only_r(dom):
    t = train_arm(TINY, ARMS["VS"], dom, 0)
    assert t.G is None and len(t.history["rec"]) == TINY.steps
    with pytest.raises(ValueError, match="at least one crop"):
        train_arm(TINY, ARMS["V0"], replace(dom, blurry=dom.blurry[:0]), 0)


def test_flops_and_compute_matching():
    assert r_flops(UNet(1, 8), 32) == r_flops(UNet(1, 8), 32) > 0
    assert r_flops(UNet(1, 8), 64) == 4 * r_flops(UNet(1, 8), 32)
    assert compute_matched_steps(replace(TINY, steps=10, warmup=0.2), 5, 10) == 18  # 2·5 + 8·10 = 18·5


def test_gaussian_kernel_and_arm_difference():
    k = gaussian_kernel(1.0, size=7)
    assert k.sum() == pytest.approx(1) and k[3, 3] == k.max() and np.allclose(k, k.T)
    res = pd.DataFrame({"seed": [0, 0, 1, 1], "method": ["V3", "V1", "V3", "V1"], "psnr": [25.0, 24.0, 26.0, 24.5]})
    m = arm_difference(res, "V3", "V1")
    assert isinstance(m, Measurement) and m.values == (1.0, 1.5)
    assert isinstance(arm_difference(res, "V3", "VP"), NotMeasured)


def test_claims_and_configs_are_consistent():
    assert [c.id for c in CLAIMS] == list(PINS)
    assert sum(c.central for c in CLAIMS) == 1 and CLAIMS[0].central
    assert all(set(p) == {"smoke", "laptop", "gpu"} for p in PINS.values())
    assert CONFIGS["laptop"].replicates >= 5 and set(ARMS) == set(CONFIGS["laptop"].arms)  # every arm at laptop


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="refresh"):
        SemgudConfig(refresh=0)
    with pytest.raises(ValueError, match="crop"):
        SemgudConfig(crop=30)
    with pytest.raises(ValueError, match="warmup"):
        SemgudConfig(warmup=1.0)
    with pytest.raises(ValueError, match="arms"):
        SemgudConfig(arms=("V9",))
    with pytest.raises(ValueError, match="sigma"):
        gaussian_kernel(0.0)
    with pytest.raises(ValueError, match="odd"):
        gaussian_kernel(1.0, size=6)
    with pytest.raises(ValueError, match="f_v1"):
        compute_matched_steps(TINY, 0, 10)
    with pytest.raises(ValueError, match="empty"):
        restore(UNet(1, 8), torch.zeros(0, 1, 32, 32))


def test_blur_effect_rises_with_gaussian_sigma():
    from skimage.measure import blur_effect
    img = torch.tensor(load_photo("camera", side=96), dtype=torch.float32)[None, None]
    scores = [blur_effect(img[0, 0].numpy())]
    for sigma in (0.8, 1.6, 3.2):
        scores.append(blur_effect(convolve(img.double(), gaussian_kernel(sigma, size=15))[0, 0].numpy()))
    assert all(a < b for a, b in zip(scores, scores[1:])), scores


def test_ssim_and_fall_columns_and_interleaved_timing(dom):
    cfg = replace(TINY, steps=6, arms=("V0", "V3"))
    rows, kept, _, base = run_replicate(cfg, 0, arms=cfg.arms, n_map=1, keep=True)
    table = pd.DataFrame(rows)
    for method in ("V0", "V3", "input", "RL oracle", "Wiener oracle", "blind MAP"):
        value = table.loc[table.method == method, "ssim"].item()
        assert -1 <= value <= 1, (method, value)
    assert np.isfinite(table.loc[table.method == "V3", ["rec_fall", "gap_fall"]].values).all()
    assert len(base["blind MAP ssim"]) == 1 and len(base["input ssim"]) == cfg.n_test
    # R starts as the identity: an untrained R scores the input's SSIM exactly
    untrained = replace(kept["V3"], R=make_reconstructor(cfg).eval())
    assert evaluate(untrained, dom, cfg, 0)["ssim"] == pytest.approx(float(classical_baselines(dom, cfg, n_map=0)["input ssim"].mean()), abs=1e-6)
    map_s, r_s = interleaved_seconds(kept["V3"].R, dom.test_blurry[:3], cfg)
    assert map_s.shape == r_s.shape == (3,) and (map_s > 0).all() and (r_s > 0).all()
    with pytest.raises(ValueError, match="non-empty"):
        interleaved_seconds(kept["V3"].R, dom.test_blurry[:0], cfg)


def test_rl_oracle_works_in_linear_light():
    """B's camera blurs in linear light: Richardson–Lucy on the gamma-encoded values deconvolves the wrong model,
    RL after undoing the gamma the right one (noise-free here, so the linear-light oracle must win clearly)."""
    img = torch.tensor(load_photo("camera", side=64)[:48, :48], dtype=torch.float64)[None, None]
    k = linear_kernel(9, 30, size=11)
    blurry = (convolve(img ** 2.2, k[None]) ** (1 / 2.2))[0, 0].numpy()
    truth = img[0, 0].numpy()
    err = lambda x: np.abs(x[8:-8, 8:-8] - truth[8:-8, 8:-8]).mean()
    padded = np.pad(blurry, 5, mode="reflect")  # the chapter's boundary rule for the oracles
    lin = rl_linear(padded, k)[5:-5, 5:-5]
    gam = richardson_lucy(padded, k, num_iter=30, clip=True)[5:-5, 5:-5]
    assert err(lin) < 0.7 * err(blurry) and err(lin) < 0.8 * err(gam)  # measured: 0.043 vs 0.074 input, 0.062 gamma RL
    with pytest.raises(ValueError, match="blurry"):
        rl_linear(blurry * 2, k)


def test_device_option_and_precondition_columns(dom):
    cpu = train_arm(TINY, ARMS["V3"], dom, 0, device="cpu")
    default = train_arm(TINY, ARMS["V3"], dom, 0)
    assert all(torch.equal(a, b) for a, b in zip(cpu.R.parameters(), default.R.parameters()))
    assert next(cpu.R.parameters()).device.type == "cpu"
    warm = round(TINY.warmup * TINY.steps)
    assert len(cpu.history["s_hat"]) == len(range(warm, TINY.steps, TINY.refresh))  # one ŝ score per SE refresh
    rows, _, _, _ = run_replicate(replace(TINY, steps=6), 0, arms=("V1", "V3"), n_map=0)
    table = pd.DataFrame(rows).set_index("method")
    assert np.isfinite(table.loc["V3", ["se_first", "se_last"]].astype(float)).all()
    assert np.isnan(table.loc["V1", "se_first"])  # no SE, no pseudo pairs
    # B's own process applied to S is much closer to B than the untouched sharp crops: the FD check can tell
    assert table.loc["input", "fd_true"] < 0.5 * table.loc["input", "fd"]


def test_se_precondition_is_scored_inside_the_border(dom):
    "The first SE snapshot of an arm with no warm-up is the untrained R (the identity): ŝ = b, scored inside the border."
    from cvkit.core.imaging import psnr
    cfg = replace(TINY, steps=2, warmup=0.0, border=6)
    t = train_arm(cfg, ARMS["V3"], dom, 0)
    inside = psnr(dom.blurry[:16], dom.blurry_truth[:16], border=6).mean().item()
    whole = psnr(dom.blurry[:16], dom.blurry_truth[:16]).mean().item()
    assert t.history["s_hat"][0] == pytest.approx(inside, abs=1e-5) and abs(inside - whole) > 1e-3


def test_exercise_one_accepts_a_correct_patch_pca_and_rejects_an_uncentred_one():
    from cvkit.core.exercises import check_exercise

    def student(x, k, centre=True):
        X = unfold_patches(x)
        mu = X.mean(1, keepdim=True) if centre else torch.zeros_like(X[:, :1])
        V = torch.linalg.svd(X - mu, full_matrices=False)[2][:, :k].transpose(1, 2)
        return fold_patches((X - mu) @ V @ V.transpose(1, 2) + mu, x.shape[-2:])

    crops = make_domains(TINY, 0).sharp[:3].double()
    cases = [(crops, 1), (crops, 4), (crops, 8)]
    assert check_exercise(student, patch_pca, cases, atol=1e-8, verbose=False) == "correct"
    assert check_exercise(lambda x, k: student(x, k, centre=False), patch_pca, cases, atol=1e-8,
                          verbose=False).startswith("incorrect")


def test_se_sends_no_gradient_into_g_and_cycle_redegradation_runs(dom):
    "With the fixed Ď, G's loss never sees R: V3's G must equal V1's bit for bit (L_se reaches R only, from its own stream)."
    v1, v3 = train_arm(TINY, ARMS["V1"], dom, 0), train_arm(TINY, ARMS["V3"], dom, 0)
    assert all(torch.equal(a, b) for a, b in zip(v1.G.parameters(), v3.G.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(v1.R.parameters(), v3.R.parameters()))
    cyc = train_arm(replace(TINY, redeg="cycle"), ARMS["V1"], dom, 0)  # Ď(s) = G(sg(R(G(s))))
    assert all(np.isfinite(v).all() for v in cyc.history.values()) and all(v > 0 for v in cyc.history["rpc"])
    assert not all(torch.equal(a, b) for a, b in zip(v1.G.parameters(), cyc.G.parameters()))


def test_blind_map_sees_the_wide_blurry_crop(dom):
    m = TINY.ksize // 2
    assert dom.test_blurry_wide.shape[-1] == dom.test_blurry.shape[-1] + 2 * m
    assert torch.equal(dom.test_blurry_wide[..., m:-m, m:-m], dom.test_blurry)  # the same blur, with its margin
    cfg = replace(TINY, n_test=2)
    with_wide = classical_baselines(dom, cfg, n_map=1)
    without = classical_baselines(replace(dom, test_blurry_wide=None), cfg, n_map=1)
    assert np.isfinite(with_wide["blind MAP"]).all() and with_wide["blind MAP"][0] != without["blind MAP"][0]
    assert np.array_equal(with_wide["input"], without["input"])
    with pytest.raises(ValueError, match="wide must hold"):
        interleaved_seconds(UNet(1, 8), dom.test_blurry[:2], cfg, wide=dom.test_blurry_wide[:1])


def test_config_refuses_bad_rates_weights_and_sizes():
    for kwargs, word in [(dict(lr=0.0), "lr"), (dict(lr=float("nan")), "lr"), (dict(lambda_se=-1.0), "lambda_se"),
                         (dict(redeg_sigma=0.0), "redeg_sigma"), (dict(map_gamma=-1.0), "map_gamma"), (dict(k=65), "k must"),
                         (dict(map_ksize=24), "map_ksize"), (dict(map_ksize=33), "map_ksize"), (dict(map_lam=0.0), "map_lam"),
                         (dict(map_rl_iters=0), "map_rl_iters"), (dict(ema=1.0), "ema")]:
        with pytest.raises(ValueError, match=word):
            SemgudConfig(**kwargs)


def _bars(side: int = 48) -> np.ndarray:
    "A hand-made test image: vertical bars of three widths on a grey ramp, and a dark square."
    x = np.tile(np.linspace(0.2, 0.5, side), (side, 1))
    for start, width in ((6, 2), (14, 3), (24, 5)):
        x[4:40, start:start + width] = 0.9
    x[30:42, 34:44] = 0.05
    return x


def test_unsupervised_wiener_oracle_deblurs_a_hand_made_case():
    sharp = _bars()
    k = linear_kernel(7, 0, size=9)  # horizontal 7-px motion across the bars
    m = 4
    blurry = convolve(torch.tensor(sharp)[None, None], k)[0, 0].numpy()
    blurry = np.clip(blurry + np.random.default_rng(0).normal(0, 0.003, blurry.shape), 0, 1)
    restored = uwiener_oracle(np.pad(blurry, m, mode="reflect"), k, rng=np.random.default_rng(1))[m:-m, m:-m]

    def psnr_in(x):  # inside a 4-px border, as the chapter scores
        return 10 * np.log10(1 / np.mean((x[4:-4, 4:-4] - sharp[4:-4, 4:-4]) ** 2))
    assert psnr_in(restored) > psnr_in(blurry) + 2.0
    again = uwiener_oracle(np.pad(blurry, m, mode="reflect"), k, rng=np.random.default_rng(1))[m:-m, m:-m]
    assert np.array_equal(restored, again)  # the sampler is reproducible from its stream
    with pytest.raises(ValueError, match="finite"):
        uwiener_oracle(np.full((16, 16), np.nan), k, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="finite"):
        blind_map(np.full((32, 32), 2.0), TINY)


def test_classical_baselines_report_the_unsupervised_wiener_oracle(dom):
    out = classical_baselines(dom, TINY, n_map=0, seed=3)
    assert out["unsupervised Wiener oracle"].shape == (4,) and np.isfinite(out["unsupervised Wiener oracle ssim"]).all()
    assert np.array_equal(out["unsupervised Wiener oracle"], classical_baselines(dom, TINY, n_map=0, seed=3)["unsupervised Wiener oracle"])


def test_blind_map_in_linear_light_returns_an_image_in_range():
    blurry = convolve(torch.tensor(_bars())[None, None], linear_kernel(5, 0, size=7))[0, 0].numpy()
    for linear in (False, True):
        restored, kernel = blind_map(blurry, replace(TINY, map_linear=linear, map_rl_iters=5, map_ksize=9))
        assert restored.shape == blurry.shape and 0 <= restored.min() and restored.max() <= 1
        assert kernel.shape == (9, 9) and kernel.sum() == pytest.approx(1.0)
        if linear:  # linear light is exactly: undo the gamma, blind_deconvolve, clip, re-apply the gamma
            cfg = replace(TINY, map_linear=True, map_rl_iters=5, map_ksize=9)
            ref, ref_k = blind_deconvolve(blurry ** 2.2, kernel_size=9, gamma=cfg.map_gamma, lam=cfg.map_lam, rl_iters=5)
            assert np.array_equal(restored, ref.clip(0, 1) ** (1 / 2.2)) and np.array_equal(kernel, ref_k)
    with pytest.raises(ValueError, match="gamma"):
        blind_map(blurry, TINY, gamma=0.0)


def test_dihedral_keeps_pairs_and_refuses_bad_shapes():
    x = torch.rand(8, 1, 12, 12)
    k = linear_kernel(5, 30, size=7)
    which = torch.arange(8)
    blurred_then_turned = dihedral(convolve(x, k), which)
    turned_kernels = dihedral(torch.tensor(k)[None, None].expand(8, 1, 7, 7).clone(), which)[:, 0]
    turned_then_blurred = convolve(dihedral(x, which), turned_kernels.float())
    assert torch.allclose(blurred_then_turned, turned_then_blurred, atol=1e-6)
    assert torch.equal(dihedral(x, torch.zeros(8, dtype=torch.long)), x)
    with pytest.raises(ValueError, match="square"):
        dihedral(torch.rand(2, 1, 8, 6), torch.zeros(2, dtype=torch.long))


def test_ema_update_and_augmented_training_keep_the_identity_control(dom):
    a, b = UNet(1, 4), UNet(1, 4)
    ema_update(a, b, 0.0)
    assert all(torch.equal(pa, pb) for pa, pb in zip(a.parameters(), b.parameters()))
    a, b = UNet(1, 4), UNet(1, 4)
    expected = [0.5 * pa.detach().clone() + 0.5 * pb.detach() for pa, pb in zip(a.parameters(), b.parameters())]
    ema_update(a, b, 0.5)  # decay 0.5: the plain average of the two weight sets
    assert all(torch.allclose(pa, e) for pa, e in zip(a.parameters(), expected))
    assert not torch.equal(next(a.parameters()), next(b.parameters()))
    cfg = replace(TINY, augment=True, ema=0.9)
    v1 = train_arm(cfg, ARMS["V1"], dom, 0)
    v3_off = train_arm(cfg, replace(ARMS["V3"], lambda_se=0.0), dom, 0)
    assert all(torch.equal(p, q) for p, q in zip(v1.R.parameters(), v3_off.R.parameters()))
    plain = train_arm(TINY, ARMS["V1"], dom, 0)
    assert not all(torch.equal(p, q) for p, q in zip(v1.R.parameters(), plain.R.parameters()))


def test_oracles_refuse_bad_kernels():
    img = np.full((16, 16), 0.5)
    good = np.full((3, 3), 1 / 9)
    rng = np.random.default_rng(0)
    for oracle in (lambda k: rl_linear(img, k), lambda k: uwiener_oracle(img, k, rng=rng)):
        with pytest.raises(ValueError, match="no larger"):
            oracle(np.full((21, 21), 1 / 441))
        with pytest.raises(ValueError, match="sum to 1"):
            oracle(np.full((3, 3), 1.0))
        with pytest.raises(ValueError, match="2-D"):
            oracle(np.full((9,), 1 / 9))
        with pytest.raises(ValueError, match="non-negative"):
            oracle(np.array([[0.5, -0.5, 1.0]]))
        with pytest.raises(ValueError, match="finite"):
            oracle(np.array([[np.nan, 1.0]]))
        assert oracle(good).shape == img.shape
    with pytest.raises(ValueError, match="gamma"):
        rl_linear(img, good, gamma=-1.0)
