"""cvkit.papers.frofa: the feature scaling and its inverse, every feature augmentation (identities, hand cases, locality,
agreement with Pillow, JPEG against Pillow's encoder), the samplers table, the MAP head, the paired training streams (an
identity FroFA trains exactly MAP, and its control row gains exactly 0), the k-shot protocol, the claim specs and
measurements, and clear errors on bad input."""
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageEnhance, ImageOps

from cvkit.core.claims import (NOT_CHECKABLE, NOT_REPRODUCED, UNDECIDED, Measurement, NotMeasured, decide,
                               explanation_anchors, paired, replicate_seeds)
from cvkit.core.backbones import extract_tokens, load_mobilenet_v2
from cvkit.papers.frofa import (
    IDENTITY, SAMPLERS, UNIT_OPS, jpeg, jpeg_table, MAGNITUDE_LIMITS,
    AUGMENTATIONS, CONFIGS, SPECS, FroFA, FroFAResult, HeadConfig, MAPHead, apply_frofa, brightness,
    claim_measurements, contrast, equalize, fit_range, from_unit, grid_to_tokens, invert, k_shot_split,
    load_few_shot_set, mixup, patch_dropout, posterize, reported_values, rotate, sample_params, sharpness, solarize,
    to_unit, tokens_to_grid, train_map_head, translate, accuracy, shapetex_batch, shape_mask, texture_map, FroFAConfig,
    ViTPretrainConfig, run_experiment, SHAPES, TEXTURES)

NOTEBOOK = Path(__file__).resolve().parents[1] / "nbs" / "chapters" / "41_frofa.ipynb"


def features(seed=0, B=6, N=16, C=5):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, N, C, generator=g) * torch.linspace(0.5, 3, C) + 1.0


def ranges_of(tokens):
    return {"scalar": fit_range(tokens), "channel": fit_range(tokens, per_channel=True)}


def test_scaling_round_trip_and_range():
    tokens = features()
    grid = tokens_to_grid(tokens)
    for per_channel in (False, True):
        rng = fit_range(tokens, per_channel)
        unit = to_unit(grid, rng)
        assert unit.min() >= 0 and unit.max() <= 1 + 1e-6
        assert torch.allclose(from_unit(unit, rng), grid, atol=1e-5)
    per = to_unit(grid, fit_range(tokens, True))
    assert torch.allclose(per.amin(dim=(0, 2, 3)), torch.zeros(5)) and torch.allclose(per.amax(dim=(0, 2, 3)), torch.ones(5))


def test_grid_layout_and_non_square_error():
    tokens = features()
    grid = tokens_to_grid(tokens)
    assert torch.equal(grid[2, :, 1, 3], tokens[2, 1 * 4 + 3]) and torch.equal(grid_to_tokens(grid), tokens)
    with pytest.raises(ValueError, match="not a perfect square"):
        tokens_to_grid(torch.zeros(2, 15, 3))
    with pytest.raises(ValueError, match=r"\(B, N, C\)"):
        tokens_to_grid(torch.zeros(15, 3))


def test_zero_range_is_an_error_but_a_dead_channel_is_not():
    with pytest.raises(ValueError, match="zero range"):
        fit_range(torch.ones(3, 4, 2))
    tokens = features()
    tokens[..., 2] = 0.7
    rng = fit_range(tokens, per_channel=True)
    assert rng.high[2] - rng.low[2] == 1.0
    unit = to_unit(tokens_to_grid(tokens), rng)
    assert torch.allclose(from_unit(brightness(unit, torch.full((6, 5), 1.7)), rng)[:, 2], torch.tensor(0.7))


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_probability_zero_is_the_identity_for_every_augmentation(name):
    tokens, gen = features(1), torch.Generator().manual_seed(0)
    onehot = F.one_hot(torch.arange(6) % 3, 3).float()
    spec = FroFA(name, prob=0.0)
    out, targets = apply_frofa(spec, tokens, onehot, sample_params(spec, 6, 5, 4, gen), ranges_of(tokens), gen)
    assert torch.equal(out, tokens) and torch.equal(targets, onehot)  # bit for bit, not up to rounding


@pytest.mark.parametrize("name", ["brightness", "contrast", "posterize", "solarize", "sharpness", "rotate", "shear_x",
                                  "translate_y", "crop", "resized_crop", "inception_crop", "jpeg", "mixup"])
def test_probability_one_changes_something(name):
    tokens, gen = features(2), torch.Generator().manual_seed(3)
    onehot = F.one_hot(torch.arange(6) % 3, 3).float()
    spec = FroFA(name, prob=1.0)
    out, targets = apply_frofa(spec, tokens, onehot, sample_params(spec, 6, 5, 4, gen), ranges_of(tokens), gen)
    assert out.shape == tokens.shape and not torch.allclose(out, tokens, atol=1e-3)
    assert torch.allclose(targets.sum(-1), torch.ones(6))


def test_hand_cases_posterize_solarize_invert():
    x = torch.tensor([0.0, 0.2, 0.5, 0.8, 1.0]).reshape(1, 1, 1, 5)
    assert torch.allclose(posterize(x, torch.tensor([1])).flatten(), torch.tensor([0, 0, 128, 128, 128]) / 255.0)
    assert torch.allclose(posterize(x, torch.tensor([2])).flatten(), torch.tensor([0, 0, 128, 192, 192]) / 255.0)
    assert torch.allclose(solarize(x, torch.tensor([0.5])).flatten(), torch.tensor([0.0, 0.2, 0.5, 0.2, 0.0]))
    assert torch.allclose(invert(x).flatten(), torch.tensor([1.0, 0.8, 0.5, 0.2, 0.0]))
    with pytest.raises(ValueError, match="between 1 and 8"):
        posterize(x, torch.tensor([9]))


@pytest.mark.parametrize("op", [
    lambda x: brightness(x, torch.tensor([1.6, 0.4])), lambda x: posterize(x, torch.tensor([3, 5])),
    lambda x: solarize(x, torch.tensor([0.3, 0.6])), invert])
def test_pointwise_ops_touch_only_their_own_token(op):
    x = torch.rand(2, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    y = x.clone()
    y[:, :, 1, 2] = torch.rand(2, 3, generator=torch.Generator().manual_seed(1))
    changed = (op(x) != op(y)).any(dim=(0, 1))
    assert changed.sum() <= 1 and not changed[torch.arange(4) != 1].any()


def test_channel_variant_draws_one_value_per_channel_and_c2_uses_the_channel_range():
    gen = torch.Generator().manual_seed(0)
    p = sample_params(FroFA("brightness", "c", prob=1.0), 4, 7, 4, gen)
    assert p["value"].shape == (4, 7) and p["value"].std() > 0
    tokens = features(3)
    spec = FroFA("brightness", "c2", prob=1.0)
    params = {"apply": torch.ones(6, dtype=torch.bool), "value": torch.ones(6, 5) * 0.5}
    out, _ = apply_frofa(spec, tokens, torch.zeros(6, 2), params, ranges_of(tokens))
    rng = fit_range(tokens, per_channel=True)
    expected = grid_to_tokens(from_unit(0.5 * to_unit(tokens_to_grid(tokens), rng), rng))
    assert torch.allclose(out, expected, atol=1e-5)


def test_eighteen_augmentations_each_with_a_sampler_and_an_operation():
    assert len(AUGMENTATIONS) == len(set(AUGMENTATIONS)) == 18
    assert set(SAMPLERS) == set(AUGMENTATIONS) == set(MAGNITUDE_LIMITS)
    assert set(UNIT_OPS) == set(AUGMENTATIONS) - {"mixup", "patch_dropout"}
    gen = torch.Generator().manual_seed(0)
    for name in AUGMENTATIONS:
        p = sample_params(FroFA(name, prob=1.0), 5, 3, 4, gen)
        assert p["apply"].shape == (5,) and bool(p["apply"].all()), name


def test_resized_crop_is_square_and_inception_crop_jitters_the_aspect():
    gen = torch.Generator().manual_seed(0)
    square = sample_params(FroFA("resized_crop", prob=1.0), 200, 1, 4, gen)["value"]
    assert torch.allclose(square[:, 2], square[:, 3]) and bool((square[:, 2] ** 2 >= 0.5 - 1e-6).all())
    boxes = sample_params(FroFA("inception_crop", prob=1.0), 200, 1, 4, gen)["value"]
    aspect = boxes[:, 2] / boxes[:, 3]
    assert aspect.min() >= 0.75 - 1e-5 and aspect.max() <= 4 / 3 + 1e-5 and aspect.std() > 0.05
    assert bool((boxes[:, :2].abs() <= 1 - boxes[:, 2:] + 1e-6).all())  # every box lies inside the map


def test_jpeg_table_and_jpeg_against_pillow():
    assert jpeg_table(torch.tensor([50.0]))[0, 0, 0] == 16 and jpeg_table(torch.tensor([100.0])).max() == 1
    assert jpeg_table(torch.tensor([10.0]))[0, 0, 0] == 80  # 16 · 5000 / 10 / 100
    with pytest.raises(ValueError, match=r"\[1, 100\]"):
        jpeg_table(torch.tensor([0.0]))
    errors = []
    for seed in range(6):
        img = (np.random.default_rng(seed).beta(2, 3, (16, 16)) * 255).astype(np.uint8)
        for quality in (25, 50, 75):
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, format="JPEG", quality=quality)
            ref = np.asarray(Image.open(buf)).astype(int)
            x = torch.from_numpy(img)[None, None].float() / 255.0
            ours_levels = (jpeg(x, torch.tensor([float(quality)]))[0, 0] * 255).round().int().numpy()
            errors.append(np.abs(ours_levels - ref))
    errors = np.stack(errors)
    # libjpeg's integer DCT rounds a few coefficients the other way; the float DCT agrees on almost every pixel
    assert np.median(errors) == 0 and errors.mean() < 1.0 and np.mean(errors <= 2) > 0.9
    x = torch.rand(2, 3, 5, 5, generator=torch.Generator().manual_seed(0))
    low, high = jpeg(x, torch.tensor([5.0, 5.0])), jpeg(x, torch.tensor([100.0, 100.0]))
    assert (high - x).abs().mean() < (low - x).abs().mean() and (high - x).abs().max() <= 2 / 255 + 1e-6


def test_frofa_spec_validation():
    with pytest.raises(ValueError, match="unknown augmentation"):
        FroFA("cutout")
    with pytest.raises(ValueError, match=r"prob.*\[0, 1\]"):
        FroFA("brightness", prob=1.5)
    with pytest.raises(ValueError, match=r"prob.*\[0, 1\]"):
        FroFA("brightness", prob=-0.1)
    with pytest.raises(ValueError, match="magnitude"):
        FroFA("brightness", magnitude=-0.2)
    with pytest.raises(ValueError, match="magnitude"):
        FroFA("rotate", magnitude=-5)
    with pytest.raises(ValueError, match="magnitude"):
        FroFA("posterize", magnitude=9)
    with pytest.raises(ValueError, match="magnitude"):
        FroFA("jpeg", magnitude=0)
    assert IDENTITY.prob == 0 and IDENTITY.label == "identity (p = 0)"
    with pytest.raises(ValueError, match="no channel-wise variant"):
        FroFA("rotate", "c")
    with pytest.raises(ValueError, match="variant"):
        FroFA("brightness", "c3")


def rgb_image(seed, grey=False, size=12):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (size, size, 1 if grey else 3)).astype(np.uint8)
    return np.repeat(img, 3, axis=2) if grey else img


def ours(op, img, *args):
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255.0
    return (op(x, *args)[0].permute(1, 2, 0) * 255).round().numpy().astype(int)


@pytest.mark.parametrize("factor", [0.3, 1.0, 1.7])
def test_enhance_ops_agree_with_pillow_within_one_grey_level(factor):
    for seed in range(3):
        img = rgb_image(seed)
        ref = np.asarray(ImageEnhance.Brightness(Image.fromarray(img)).enhance(factor)).astype(int)
        assert np.abs(ours(brightness, img, torch.tensor([factor])) - ref).max() <= 1
        grey = rgb_image(seed, grey=True)  # Pillow's contrast uses the luminance mean: equal to ours on grey RGB
        ref = np.asarray(ImageEnhance.Contrast(Image.fromarray(grey)).enhance(factor)).astype(int)
        assert np.abs(ours(contrast, grey, torch.tensor([factor])) - ref).max() <= 1
        ref = np.asarray(ImageEnhance.Sharpness(Image.fromarray(img)).enhance(factor)).astype(int)
        assert np.abs(ours(sharpness, img, torch.tensor([factor])) - ref).max() <= 1


def test_imageops_agree_with_pillow():
    for seed in range(3):
        img = rgb_image(seed, size=20)
        pil = Image.fromarray(img)
        for bits in (1, 4, 7):
            ref = np.asarray(ImageOps.posterize(pil, bits)).astype(int)
            assert np.abs(ours(posterize, img, torch.tensor([bits])) - ref).max() <= 1
        ref = np.asarray(ImageOps.solarize(pil, 100)).astype(int)
        assert np.abs(ours(solarize, img, torch.tensor([100 / 255])) - ref).max() <= 1
        assert np.abs(ours(lambda x: invert(x), img) - np.asarray(ImageOps.invert(pil)).astype(int)).max() <= 1
        big = (np.random.default_rng(seed).beta(2, 5, (32, 32, 3)) * 255).astype(np.uint8)
        ref = np.asarray(ImageOps.equalize(Image.fromarray(big))).astype(int)
        assert np.abs(ours(lambda x: equalize(x), big) - ref).max() <= 1
    small = torch.rand(1, 2, 4, 4)  # fewer than 256 positions: Pillow's rule is the identity
    assert torch.allclose(equalize(small), torch.round(small * 255) / 255)


def test_geometric_ops():
    cells = torch.arange(16.0).reshape(1, 1, 4, 4)
    moved = translate(cells, torch.tensor([-1.0]), "y")[0, 0]
    assert torch.equal(moved[:3], cells[0, 0, 1:]) and torch.equal(moved[3], torch.zeros(4))
    assert torch.allclose(rotate(cells, torch.tensor([180.0]))[0, 0], cells[0, 0].flip(0).flip(1), atol=1e-4)
    with pytest.raises(ValueError, match="axis"):
        translate(cells, torch.tensor([1.0]), "z")


def test_patch_dropout_and_mixup():
    tokens = features()
    kept = patch_dropout(tokens, 10, torch.Generator().manual_seed(0))
    assert kept.shape == (6, 10, 5)
    assert all(any(torch.equal(t, s) for s in tokens[0]) for t in kept[0])  # kept tokens are original tokens
    with pytest.raises(ValueError, match="keep"):
        patch_dropout(tokens, 0, torch.Generator())
    onehot = F.one_hot(torch.arange(6) % 3, 3).float()
    mixed, targets = mixup(tokens, onehot, torch.full((6,), 0.7), torch.roll(torch.arange(6), 1))
    assert torch.allclose(mixed[1], 0.7 * tokens[1] + 0.3 * tokens[0]) and torch.allclose(targets.sum(-1), torch.ones(6))


def test_map_head_is_permutation_invariant_and_equals_multihead_attention():
    torch.manual_seed(0)
    head = MAPHead(dim=12, num_classes=4, heads=3)
    x = torch.randn(5, 9, 12)
    ref, _ = head.attn(head.probe.expand(5, 1, 12), head.norm_in(x), head.norm_in(x))
    assert torch.allclose(head.pool(x), ref[:, 0], atol=1e-5)
    assert torch.allclose(head(x), head(x[:, torch.randperm(9)]), atol=1e-5)
    with pytest.raises(ValueError, match="divisible"):
        MAPHead(dim=10, num_classes=2, heads=4)


def test_map_head_learns_a_separable_toy_problem_with_and_without_frofa():
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(40) % 4
    centres = torch.randn(4, 8, generator=g) * 3
    tokens = centres[labels][:, None, :] + 0.3 * torch.randn(40, 9, 8, generator=g)
    for spec in (None, FroFA("brightness", "c2")):
        head = train_map_head(tokens, labels, 4, HeadConfig(steps=150, lr=3e-3, heads=2), spec, ranges_of(tokens), 0)
        assert accuracy(head, tokens, labels) >= 0.95


def test_k_shot_split_exact_disjoint_deterministic_and_errors():
    labels = np.repeat(np.arange(4), 10)
    tr, mv, te = k_shot_split(labels, 3, seed=5, minival_per_class=2)
    assert np.bincount(labels[tr]).tolist() == [3] * 4 and np.bincount(labels[mv]).tolist() == [2] * 4
    assert len(set(tr) | set(mv) | set(te)) == len(tr) + len(mv) + len(te) == 40
    assert np.array_equal(k_shot_split(labels, 3, 5, 2)[0], tr) and not np.array_equal(k_shot_split(labels, 3, 6, 2)[0], tr)
    with pytest.raises(ValueError, match="too few"):
        k_shot_split(labels, 10, 0)
    with pytest.raises(ValueError, match="at least 1"):
        k_shot_split(labels, 0, 0)


def test_few_shot_sets_load_offline():
    images, labels = load_few_shot_set("digits", per_class_cap=5)
    assert images.shape == (50, 8, 8) and np.bincount(labels).tolist() == [5] * 10 and images.max() <= 1
    tiles, tile_labels = load_few_shot_set("textures", per_class_cap=3)
    assert tiles.shape == (36, 40, 40, 3) and len(np.unique(tile_labels)) == 12
    digits, digit_labels = load_few_shot_set("mnist", per_class_cap=2)
    assert digits.shape == (20, 28, 28)
    with pytest.raises(ValueError, match="unknown few-shot set"):
        load_few_shot_set("imagenet")


def hand_made_result(seeds=(0, 1, 2)):
    "A result table with known paired gains: seed s adds s points to every 1-shot accuracy (cancels in every pair)."
    rows = []
    acc = {"MAP": (50, 80), "identity (p = 0)": (50, 80), "brightness": (54, 81), "c²-brightness": (53, 81.5),
           "contrast": (52, 80),
           "posterize": (53, 80), "rotate": (49, 80), "shear_x": (49, 80), "shear_y": (49, 80),
           "translate_x": (48, 79), "translate_y": (50, 80), "linear probe": (51, 82)}
    for seed in seeds:
        for method, (one, five) in acc.items():
            for shots, value in ((1, one + seed), (5, five + (0.5 * seed if method == "brightness" else 0))):
                rows.append({"backbone": "mobilenet", "set": "digits", "seed": seed, "shots": shots, "method": method,
                             "accuracy": value, "chance": 10.0})
    return FroFAResult(CONFIGS["smoke"], pd.DataFrame(rows))


def test_claim_measurements_are_paired_per_episode_on_a_hand_made_table():
    m = claim_measurements(hand_made_result())
    assert list(m) == [spec.id for spec in SPECS]
    bright = m["brightness-improves-few-shot"]
    assert bright.unit == "episode" and bright.n == 3 and bright.chance == 10.0
    assert bright.values == pytest.approx((4.0, 4.0, 4.0)) and "brightness at 1 shot" in bright.arms
    assert m["brightness-gain-at-least-1pt"] is bright
    assert m["c2-brightness-improves-few-shot"].values == pytest.approx((3.0,) * 3)  # fixed arm, not the better one
    assert m["geometric-hurts-low-shot"].values == pytest.approx((-1.0,) * 3)
    assert m["geometric-never-helps"].values == pytest.approx((-0.2,) * 3)  # 5 shots: the geometric mean gain is larger
    assert m["gains-diminish-with-shots"].values == pytest.approx((3.0, 2.5, 2.0))
    assert m["gains-diminish-with-shots"].chance is None  # its arms are gains, which have no chance level
    assert m["stylistic-beats-geometric"].values == pytest.approx((3.0 + 1.0,) * 3)
    assert m["c2-brightness-at-least-plain"].values == pytest.approx((-1.0,) * 3)
    assert isinstance(m["paper-numbers"], NotMeasured)
    reported = reported_values(hand_made_result())
    assert reported["map_accuracy"] == pytest.approx(80.0) and reported["probe_minus_map_low"] == pytest.approx(1.0)
    assert reported["identity_max_abs_gain"] == 0.0


def test_claim_measurements_say_what_a_configuration_does_not_run():
    result = hand_made_result()
    result.table = result.table.query("method in ['MAP', 'brightness', 'linear probe'] and shots == 1")
    result.config = FroFAConfig(**{**CONFIGS["smoke"].__dict__, "shots": (1,)})
    m = claim_measurements(result)
    assert list(m) == [spec.id for spec in SPECS]
    assert isinstance(m["brightness-improves-few-shot"], Measurement) and m["brightness-improves-few-shot"].n == 3
    assert isinstance(m["c2-brightness-improves-few-shot"], NotMeasured)
    assert "c²-brightness" in m["c2-brightness-improves-few-shot"].reason
    assert isinstance(m["gains-diminish-with-shots"], NotMeasured) and "shot count" in m["gains-diminish-with-shots"].reason


def test_specs_cover_every_scale_and_explain_every_pinned_negative():
    nb = json.loads(NOTEBOOK.read_text())
    scales = nb["metadata"]["cvkit"]["scales"]
    anchors = explanation_anchors(nb)
    assert len({s.id for s in SPECS}) == len(SPECS) and sum(s.central for s in SPECS) == 1
    for spec in SPECS:
        assert set(spec.rules) == set(scales), spec.id
        for scale in scales:
            if spec.rule(scale).expected in (NOT_REPRODUCED, UNDECIDED):
                assert spec.explanation in anchors, (spec.id, spec.explanation)
        if spec.id != "paper-numbers":
            assert spec.compared
        if spec.id not in ("paper-numbers", "gains-diminish-with-shots"):  # the latter has a declared precondition
            assert all(spec.rule(s).expected != NOT_CHECKABLE for s in scales), spec.id


def test_claims_are_decided_over_thirty_episodes_at_laptop_and_gpu():
    for scale in ("laptop", "gpu"):
        cfg = CONFIGS[scale]
        assert cfg.seeds * len(cfg.datasets) >= 30  # one episode per (set, seed); backbones are averaged within it
    for scale in CONFIGS:  # every gains table has the identity control row
        assert IDENTITY in CONFIGS[scale].frofas


def test_identity_frofa_trains_exactly_map_so_its_paired_gain_is_zero():
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(24) % 4
    tokens = 2 * torch.randn(4, 8, generator=g)[labels][:, None] + torch.randn(24, 9, 8, generator=g)
    test_tokens, test_labels = tokens + 0.5 * torch.randn(24, 9, 8, generator=g), labels
    cfg = HeadConfig(steps=15, batch=8, heads=2)
    seeds = replicate_seeds(0, 3)
    for name, variant in (("brightness", ""), ("brightness", "c2"), ("rotate", ""), ("mixup", ""), ("equalize", "")):
        identity = FroFA(name, variant, prob=0.0)
        base_acc, ident_acc = [], []
        for seed in seeds:
            base = train_map_head(tokens, labels, 4, cfg, None, None, seed)
            ident = train_map_head(tokens, labels, 4, cfg, identity, ranges_of(tokens), seed)
            with torch.no_grad():
                assert torch.equal(base(test_tokens), ident(test_tokens)), name
            base_acc.append(accuracy(base, test_tokens, test_labels))
            ident_acc.append(accuracy(ident, test_tokens, test_labels))
        assert paired(ident_acc, base_acc, unit="episode").values == (0.0,) * len(seeds)
    real = train_map_head(tokens, labels, 4, cfg, FroFA("brightness", prob=1.0), ranges_of(tokens), seeds[0])
    base = train_map_head(tokens, labels, 4, cfg, None, None, seeds[0])
    with torch.no_grad():
        assert not torch.equal(real(test_tokens), base(test_tokens))


def test_training_streams_are_separate_and_seeded():
    tokens, labels = features(4, B=12, N=9, C=8), torch.arange(12) % 3
    cfg = HeadConfig(steps=5, batch=4, heads=2)
    one = train_map_head(tokens, labels, 3, cfg, None, None, 7)
    torch.manual_seed(123)  # the global generator must not matter
    two = train_map_head(tokens, labels, 3, cfg, None, None, 7)
    other = train_map_head(tokens, labels, 3, cfg, None, None, 8)
    with torch.no_grad():
        assert torch.equal(one(tokens), two(tokens)) and not torch.equal(one(tokens), other(tokens))
    spec = FroFA("mixup", prob=1.0)
    a = sample_params(spec, 6, 5, 4, torch.Generator().manual_seed(1))
    torch.manual_seed(99)
    b = sample_params(spec, 6, 5, 4, torch.Generator().manual_seed(1))
    assert torch.equal(a["lam"], b["lam"])  # mixup's λ comes from the given generator, not torch's global one


def test_shapetex_labels_shapes_and_textures():
    rng = np.random.default_rng(0)
    images, labels = shapetex_batch(40, rng)
    assert images.shape == (40, 32, 32, 3) and images.dtype == np.float32 and 0 <= images.min() <= images.max() <= 1
    assert labels.min() >= 0 and labels.max() < 100
    areas = {k: shape_mask(k, 32, 16, 16, 10, 0.3).sum() for k in SHAPES}
    assert all(20 < a < 400 for a in areas.values()) and areas["ring"] < areas["disc"]
    for kind in TEXTURES:
        t = texture_map(kind, 32, rng)
        assert t.shape == (32, 32) and 0 <= t.min() and t.max() <= 1
    with pytest.raises(ValueError, match="unknown shape"):
        shape_mask("star", 32, 16, 16, 10, 0.0)


def test_run_experiment_end_to_end_on_both_backbones_tiny():
    cfg = FroFAConfig(datasets=("digits",), image_size=64, per_class_cap=8, shots=(1,), seeds=1, minival_per_class=2,
                      head=HeadConfig(steps=5, batch=8), wd_grid=(0.0,), probe_c_grid=(0.1,),
                      frofas=(IDENTITY, FroFA("brightness")), backbones=("mobilenet", "vit"),
                      vit=ViTPretrainConfig(dim=16, depth=1, heads=2, steps=3, batch=8))
    result = run_experiment(cfg, 0, progress=False)
    assert set(result.table["backbone"]) == {"mobilenet", "vit"}
    assert set(result.table["method"]) == {"MAP", "identity (p = 0)", "brightness", "linear probe"}
    assert result.token_shapes == {"mobilenet · digits": (4, 320), "vit · digits": (64, 16)}
    assert len(result.vit_losses) == 3 and result.gains().shape == (1, 3)  # one episode, backbones averaged
    assert (result.gains()["identity (p = 0)"] == 0.0).all()  # the control row: exactly zero, on both backbones
    assert (result.table.query("method == 'identity (p = 0)'")["accuracy"].to_numpy()
            == result.table.query("method == 'MAP'")["accuracy"].to_numpy()).all()
    spread = result.gain_table()
    assert spread.loc["identity (p = 0)", (1, "sd")] != spread.loc["identity (p = 0)", (1, "sd")]  # n = 1: SD is NaN
    assert spread.loc["identity (p = 0)", (1, "mean")] == 0.0 and spread.loc["brightness", (1, "n")] == 1
    assert set(result.table["chance"]) == {10.0}
    measured = claim_measurements(result)
    assert list(measured) == [spec.id for spec in SPECS]
    assert all(isinstance(m, (Measurement, NotMeasured)) for m in measured.values())
    one_episode = {"brightness-improves-few-shot", "brightness-gain-at-least-1pt"}  # the only arms this run trained
    assert all(measured[i].n == 1 for i in one_episode)
    assert all(decide(spec, measured[spec.id], "smoke").verdict == NOT_CHECKABLE for spec in SPECS
               if spec.id not in one_episode)
    with pytest.raises(ValueError, match="unknown backbone"):
        run_experiment(FroFAConfig(**{**cfg.__dict__, "backbones": ("resnet",)}), 0, progress=False)


def test_bad_input_gets_clear_errors():
    tokens, gen = features(5), torch.Generator().manual_seed(0)
    onehot = F.one_hot(torch.arange(6) % 3, 3).float()
    spec = FroFA("brightness", prob=1.0)
    params = sample_params(spec, 6, 5, 4, gen)
    bad = tokens.clone()
    bad[2, 3, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        apply_frofa(spec, bad, onehot, params, ranges_of(tokens))
    with pytest.raises(ValueError, match="needs their range"):
        apply_frofa(spec, tokens, onehot, params, None)
    with pytest.raises(ValueError, match=r"\(B, K\)"):
        apply_frofa(spec, tokens, onehot[:4], params, ranges_of(tokens))
    with pytest.raises(ValueError, match="NaN"):
        fit_range(bad)
    labels, cfg = torch.arange(6) % 3, HeadConfig(steps=2, batch=4, heads=1)
    with pytest.raises(ValueError, match="NaN"):
        train_map_head(bad, labels, 3, cfg, None, None, 0)
    with pytest.raises(ValueError, match=r"\[0, num_classes\)"):
        train_map_head(tokens, labels + 1, 3, cfg, None, None, 0)
    with pytest.raises(ValueError, match=r"\[0, num_classes\)"):
        train_map_head(tokens, labels - 1, 3, cfg, None, None, 0)
    with pytest.raises(ValueError, match="integer class indices"):
        train_map_head(tokens, labels.float(), 3, cfg, None, None, 0)
    with pytest.raises(ValueError, match="empty"):
        train_map_head(tokens[:0], labels[:0], 3, cfg, None, None, 0)
    with pytest.raises(ValueError, match="one class index per sample"):
        train_map_head(tokens, labels[:4], 3, cfg, None, None, 0)
    with pytest.raises(ValueError, match="needs the training features' ranges"):
        train_map_head(tokens, labels, 3, cfg, FroFA("brightness"), None, 0)
    train_map_head(tokens, labels, 3, cfg, FroFA("mixup"), None, 0)  # mixup needs no range
    with pytest.raises(TypeError, match="FeatureRange"):
        to_unit(tokens_to_grid(tokens), (0.0, 1.0))  # a tuple is not a FeatureRange


def test_nan_images_are_refused_before_the_backbone():
    net = load_mobilenet_v2()
    images = np.random.default_rng(0).random((2, 8, 8)).astype(np.float32)
    images[1, 3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        extract_tokens(net, images, 64, 17, progress=False)
    with pytest.raises(ValueError, match="no images"):
        extract_tokens(net, images[:0], 64, 17, progress=False)


def test_laptop_decides_on_fresh_episodes_and_episode_streams_are_keyed_on_the_set():
    from cvkit.papers.frofa import LAPTOP_FIRST_EPISODE, episode_seed
    laptop = CONFIGS["laptop"]
    # ids 0-9 of block 0 were the calibration run's episodes: the pinned laptop run uses 10-23
    assert LAPTOP_FIRST_EPISODE == 10 and laptop.episode_ids(0) == list(range(10, 24))
    assert laptop.episode_ids(1) == list(range(1010, 1024))
    assert CONFIGS["smoke"].episode_ids(0) == [0, 1, 2, 3, 4]
    assert episode_seed("digits", 3) != episode_seed("mnist", 3) and episode_seed("digits", 3) == episode_seed("digits", 3)
    with pytest.raises(ValueError, match="first_episode"):
        FroFAConfig(**{**laptop.__dict__, "first_episode": -1})


def test_arm_labels_carry_magnitude_and_probability_and_duplicates_are_refused():
    assert FroFA("brightness").label == "brightness" and FroFA("brightness", "c2").label == "c²-brightness"
    assert FroFA("brightness", magnitude=0.5).label == "brightness (m = 0.5)"
    assert FroFA("brightness", prob=1.0).label == "brightness (p = 1)"
    smoke = CONFIGS["smoke"]
    with pytest.raises(ValueError, match="share the table label"):
        FroFAConfig(**{**smoke.__dict__, "frofas": (IDENTITY, FroFA("brightness", magnitude=0.5, prob=0.0))})
    FroFAConfig(**{**smoke.__dict__, "frofas": (FroFA("brightness"), FroFA("brightness", magnitude=0.5))})


def test_every_shot_claims_use_the_intersection_union_rule():
    from cvkit.core.claims import REPRODUCED
    from cvkit.papers.frofa import decide_every_shot
    spec = next(s for s in SPECS if s.id == "geometric-never-helps")  # passing side: <= 0.2
    rng = np.random.default_rng(0)
    noise = lambda: rng.normal(0, 0.3, 40)
    ok = {1: paired(50 + noise() - 1.0, np.full(40, 50.0), unit="episode"),
          5: paired(80 + noise() - 0.5, np.full(40, 80.0), unit="episode")}
    assert decide_every_shot(spec, ok, "laptop").verdict == REPRODUCED
    one_fails = {**ok, 5: paired(80 + noise() + 2.0, np.full(40, 80.0), unit="episode")}
    claim = decide_every_shot(spec, one_fails, "laptop")
    assert claim.verdict == NOT_REPRODUCED and "Bonferroni" in claim.note and claim.mean > 1.5  # the worst shot shown
    unclear = {**ok, 5: paired(80 + noise() * 10 + 0.2, np.full(40, 80.0), unit="episode")}
    assert decide_every_shot(spec, unclear, "laptop").verdict == UNDECIDED


def test_gains_diminish_needs_a_gain_first():
    result = hand_made_result(seeds=(0, 1, 2, 3))
    t = result.table
    t.loc[(t["method"] == "brightness") & (t["shots"] == 1), "accuracy"] -= 6.0 + 0.3 * t["seed"]  # 1-shot gain < 0
    m = claim_measurements(result)
    assert isinstance(m["gains-diminish-with-shots"], NotMeasured) and "precondition" in m["gains-diminish-with-shots"].reason
    assert m["brightness-improves-5-shot"].values == pytest.approx((1.0, 1.5, 2.0, 2.5))


def test_map_training_accuracy_is_reported():
    result = hand_made_result()
    result.table["train_accuracy"] = np.where(result.table["method"] == "MAP", 100.0, np.nan)
    reported = reported_values(result)
    assert reported["map_train_accuracy_low"] == 100.0 and reported["map_test_accuracy_low"] == pytest.approx(51.0)


def test_more_bad_inputs_get_clear_errors():
    from cvkit.papers.frofa import FeatureRange, shear, crop_resize
    tokens = features(0)
    head = MAPHead(5, 3, heads=1)
    nan_tokens = tokens.clone()
    nan_tokens[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        accuracy(head, nan_tokens, torch.zeros(6, dtype=torch.long))
    with pytest.raises(ValueError, match="one class index per sample"):
        accuracy(head, tokens, torch.zeros(4, dtype=torch.long))
    for field_name in ("steps", "batch"):
        with pytest.raises(ValueError, match=field_name):
            HeadConfig(**{field_name: 0})
    with pytest.raises(ValueError, match="whole number"):
        FroFA("posterize", magnitude=4.5)
    with pytest.raises(ValueError, match="whole number"):
        FroFA("jpeg", magnitude=25.7)
    with pytest.raises(ValueError, match="prob"):
        FroFA("brightness", prob=True)
    with pytest.raises(ValueError, match="high > low"):
        FeatureRange(torch.tensor(2.0), torch.tensor(1.0))
    with pytest.raises(ValueError, match="1-D"):
        k_shot_split(np.zeros((4, 3), dtype=int), 1, 0)
    x = torch.rand(2, 3, 4, 4)
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        posterize(bad, torch.tensor([4.0, 4.0]))
    with pytest.raises(ValueError, match="one value per sample"):
        rotate(x, torch.tensor(30.0))
    with pytest.raises(ValueError, match="one value per sample"):
        shear(x, torch.tensor([0.1, 0.2, 0.3]), "x")
    with pytest.raises(ValueError, match="one value per sample"):
        translate(x, torch.tensor([1.0]), "y")
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        crop_resize(x, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="per sample"):
        brightness(x, torch.ones(3))
    with pytest.raises(ValueError, match="per_class_cap"):
        load_few_shot_set("digits", per_class_cap=0)
