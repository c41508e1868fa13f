import numpy as np
import pytest
import torch

from cvkit.papers.flowmdm import (absolute_positions, area_under_jerk, bpe_schedule, check_segments, frame_jerk, jerk,
                                  mean_transition_jerk, peak_jerk, pooled_transition_jerk, rotary, segment_boundaries,
                                  segment_mask, transition_windows, window_mask)


def test_segments_and_masks():
    assert list(segment_boundaries([3, 2, 4])) == [3, 5]
    assert list(absolute_positions([3, 2])) == [0, 1, 2, 0, 1]
    m = segment_mask([2, 3])
    assert m.shape == (5, 5) and m[0, 1] and not m[1, 2] and m[4, 2]
    w = window_mask(5, 1)
    assert w[2, 1] and w[2, 3] and not w[2, 4] and w.sum() == 13
    with pytest.raises(ValueError, match="empty"):
        check_segments([3, 0, 2])
    with pytest.raises(ValueError, match="add up to 5 frames"):
        check_segments([3, 2], total=6)
    with pytest.raises(ValueError, match="at least one segment"):
        check_segments([])


def test_rotary_depends_on_offset_only():
    gen = torch.Generator().manual_seed(0)
    q, k = torch.randn(8, generator=gen, dtype=torch.float64), torch.randn(8, generator=gen, dtype=torch.float64)
    def score(i: int, j: int) -> float:
        qi = rotary(q[None], torch.tensor([i]))[0]
        kj = rotary(k[None], torch.tensor([j]))[0]
        return float(qi @ kj)
    assert score(3, 1) == pytest.approx(score(10, 8)) and score(0, 0) == pytest.approx(float(q @ k))
    x = torch.randn(2, 5, 8, generator=gen)
    assert torch.allclose(rotary(x, torch.arange(5)).norm(dim=-1), x.norm(dim=-1), atol=1e-5)  # a rotation
    with pytest.raises(ValueError, match="even"):
        rotary(torch.zeros(3, 5), torch.arange(3))


def test_bpe_schedule():
    assert bpe_schedule(5, 2) == ["absolute"] * 2 + ["relative"] * 3
    assert bpe_schedule(4, 0) == ["relative"] * 4 and bpe_schedule(4, 4) == ["absolute"] * 4
    with pytest.raises(ValueError):
        bpe_schedule(4, 5)


def test_jerk_of_polynomials():
    t = np.arange(12, dtype=float)
    quadratic = np.stack([t**2, 0 * t, 0 * t], -1)[:, None, :]  # (L, 1, 3): constant acceleration, zero jerk
    assert np.allclose(jerk(quadratic), 0)
    cubic = np.stack([t**3, -2 * t**3, 0 * t], -1)[:, None, :]  # jerk 6 and −12 per frame³
    assert np.allclose(jerk(cubic)[:, 0], [6, -12, 0]) and np.allclose(frame_jerk(cubic), 18)
    two_joints = np.concatenate([quadratic, cubic], axis=1)
    assert np.allclose(frame_jerk(two_joints), 18)  # the max over joints
    with pytest.raises(ValueError, match="at least 4 frames"):
        jerk(np.zeros((3, 2, 3)))


def test_transition_metrics_on_a_step():
    L = 40
    p = np.zeros((L, 2, 3))
    p[20:, 0, 0] = 1.0  # a jump at frame 20
    curve = mean_transition_jerk(p, [20], window=10)
    # a step's third difference is the second difference of an impulse: 1, −2, 1 at frames 17..19 (local 2..4)
    assert np.array_equal(curve, [0, 0, 1, 2, 1, 0, 0]) and peak_jerk(curve) == 2.0
    assert area_under_jerk(curve, 0.0) == pytest.approx(4.0)
    assert area_under_jerk(curve, 1.0) == pytest.approx(abs(curve - 1).sum())
    pooled = pooled_transition_jerk([(p, [20]), (np.zeros((L, 2, 3)), [10, 30])], window=10)
    assert np.allclose(pooled, curve / 3)  # averaged over all three windows before the max
    with pytest.raises(ValueError, match="does not fit"):
        transition_windows([2], 40, 10)


def _denoiser(pose_centric: bool = True, layers: int = 1):
    from cvkit.papers.flowmdm import FlowMDMDenoiser

    torch.manual_seed(0)
    return FlowMDMDenoiser(pose_dim=6, text_dim=8, dim=16, layers=layers, heads=2, ff=32, horizon=3, dropout=0.0,
                           pose_centric=pose_centric).eval()


def _inputs(L: int = 12):
    gen = torch.Generator().manual_seed(1)
    return torch.randn(1, L, 6, generator=gen), torch.tensor([7]), torch.randn(1, L, 8, generator=gen)


def test_absolute_mode_isolates_segments():
    model, (x, t, text) = _denoiser(layers=2), _inputs()
    lengths = [5, 7]
    out = model(x, t, text, lengths, "absolute")
    x2 = x.clone()
    x2[:, 5:] += 1.0  # change only the second segment
    out2 = model(x2, t, text, lengths, "absolute")
    assert torch.allclose(out[:, :5], out2[:, :5], atol=1e-6) and not torch.allclose(out[:, 5:], out2[:, 5:])
    # the first segment's output does not depend on where it sits: a composition of one segment gives the same
    assert torch.allclose(model(x[:, :5], t, text[:, :5], [5], "absolute"), out[:, :5], atol=1e-5)


def test_relative_mode_sees_only_its_window_and_crosses_boundaries():
    model, (x, t, text) = _denoiser(layers=1), _inputs()
    out = model(x, t, text, [5, 7], "relative")
    x2 = x.clone()
    x2[:, 6] += 1.0
    out2 = model(x2, t, text, [5, 7], "relative")
    changed = (out - out2).abs().amax(-1)[0] > 1e-6
    assert changed.tolist() == [abs(i - 6) <= 3 for i in range(12)]  # horizon 3, across the boundary at 5
    # translation invariance: the same frames shifted in a longer sequence give the same interior outputs
    pad = torch.randn(1, 4, 6)
    shifted = model(torch.cat([pad, x], 1), t, torch.cat([torch.zeros(1, 4, 8), text], 1), [4, 5, 7], "relative")
    assert torch.allclose(shifted[:, 4 + 3:4 + 9], out[:, 3:9], atol=1e-5)


def test_pose_centric_attention_changes_only_the_row_whose_condition_changed():
    for pose_centric in (True, False):
        model, (x, t, text) = _denoiser(pose_centric, layers=1), _inputs()
        text2 = text.clone()
        text2[:, 4] += 1.0
        for mode in ("absolute", "relative"):
            diff = (model(x, t, text, [6, 6], mode) - model(x, t, text2, [6, 6], mode)).abs().amax(-1)[0] > 1e-6
            if pose_centric:
                assert diff.tolist() == [i == 4 for i in range(12)]
            else:  # the condition also enters keys and values: frame 4's neighbours change too
                assert diff.sum() > 1


def test_denoiser_bad_input():
    model, (x, t, text) = _denoiser(), _inputs()
    with pytest.raises(ValueError, match="add up"):
        model(x, t, text, [5, 5], "absolute")
    with pytest.raises(ValueError, match="mode"):
        model(x, t, text, [12], "sideways")
    with pytest.raises(ValueError, match="even width"):
        from cvkit.papers.flowmdm import PCCATLayer
        PCCATLayer(15, 3, 32)


def test_training_loss_and_bpe_sampling_schedule():
    from cvkit.core.diffusion import alphas_cumprod_schedule
    from cvkit.papers.flowmdm import bpe_sample, flowmdm_loss

    model, ac = _denoiser(layers=2), alphas_cumprod_schedule(50, "squaredcos_cap_v2").float()
    gen = torch.Generator().manual_seed(0)
    x0, text = torch.randn(8, 12, 6, generator=gen), torch.randn(8, 12, 8, generator=gen)
    model.train()
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    losses = []
    for _ in range(60):
        loss = flowmdm_loss(model, x0, text, ac, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) < sum(losses[:10])
    model.eval()
    calls = []
    original = model.forward
    model.forward = lambda *args: calls.append(args[4]) or original(*args)
    out = bpe_sample(model, text[:2], [5, 7], ac, num_steps=10, absolute_steps=3, generator=torch.Generator().manual_seed(1))
    assert out.shape == (2, 12, 6) and torch.isfinite(out).all()
    assert calls == ["absolute"] * 3 + ["relative"] * 7  # one call per step (both CFG branches), s = 3 absolute steps
    # the starting noise can be given instead of drawn: the same draws give the same sample
    noise = torch.randn((2, 12, 6), generator=torch.Generator().manual_seed(1))
    given = bpe_sample(model, text[:2], [5, 7], ac, num_steps=10, absolute_steps=3, noise=noise)
    assert torch.allclose(given, out)
    with pytest.raises(ValueError, match="starting noise"):
        bpe_sample(model, text[:2], [5, 7], ac, num_steps=10, absolute_steps=3, noise=noise[:, :11])


def test_pose_features_round_trip():
    from cvkit.core.motion import generate_clip
    from cvkit.papers.flowmdm import features_to_positions, pose_features

    clip = generate_clip("walk forward", 40, seed=0)
    f = pose_features(clip.positions)
    assert f.shape == (40, 3 * clip.positions.shape[1] + 2)
    back = features_to_positions(f, start=clip.positions[0, 0, [0, 2]])
    assert np.allclose(back, clip.positions, atol=1e-9)
    with pytest.raises(ValueError, match="positions"):
        pose_features(np.zeros((5, 16, 2)))


def test_linear_blend_interpolates_around_each_boundary():
    from cvkit.papers.flowmdm import linear_blend

    f = torch.cat([torch.zeros(10, 2), torch.ones(10, 2)])
    out = linear_blend(f, [10], 4)
    # the 4 frames centred on the boundary (8-11) become a straight line from frame 7 to frame 12
    assert torch.equal(out[:8], f[:8]) and torch.equal(out[12:], f[12:])
    assert torch.allclose(out[8:12, 0], torch.tensor([0.2, 0.4, 0.6, 0.8]))
    with pytest.raises(ValueError, match="fit"):
        linear_blend(f, [1], 4)


@pytest.fixture(scope="module")
def tiny_result():
    "A tiny run with both networks: every configuration, a few compositions (seconds, not a measurement)."
    from cvkit.papers.flowmdm import FlowConfig, run_experiment

    return run_experiment(FlowConfig(clips=64, train_steps=20, ddim_steps=4, compositions=3, evaluator_clips=60,
                                     repeat_samples=2, pccat_pairs=2, pair_train_steps=5, pair_compositions=2), 0)


def test_tiny_pipeline_tradeoff_and_repeat_stability(tiny_result):
    from cvkit.papers.flowmdm import (generate, repeat_stability, repeated_composition, s_tradeoff, sample_repeats)

    result, cfg = tiny_result, tiny_result.config
    assert list(result.table.index) == ["BPE", "APE only", "RPE only", "independent", "linear blend"]
    table = result.table
    assert (table[["PJ", "AUJ", "floor", "FID", "diversity"]] > 0).all().all()
    assert table["accuracy"].between(0, 1).all()
    assert all(len(curve) == cfg.window - 3 for curve in result.curves.values())
    assert all(list(items.columns) == ["PJ", "AUJ", "floor", "PJ / floor", "AUJ / floor", "accuracy"]
               and len(items) == cfg.compositions for items in result.items.values())
    for items in result.items.values():
        assert np.allclose(items["PJ / floor"], items["PJ"] / items["floor"])
        assert (items["AUJ / floor"] > 0).all()
    # the floor-normalised AUJ is the AUJ with the composition's own floor in place of J_GT, in units of that floor
    comp, features = result.compositions[0], result.generated["APE only"][0]
    curve = mean_transition_jerk(result.data.to_positions(features), segment_boundaries(comp.lengths), cfg.window)
    floor = result.items["APE only"]["floor"].iloc[0]
    assert result.items["APE only"]["AUJ / floor"].iloc[0] == pytest.approx(area_under_jerk(curve, floor) / floor)
    # the PCCAT/non-PCCAT pairs: one row per pair, independent training seeds, both networks measured
    pairs = result.pairs
    assert len(pairs) == cfg.pccat_pairs and pairs["training seed"].nunique() == cfg.pccat_pairs
    assert (pairs[["PCCAT AUJ / floor", "non-PCCAT AUJ / floor"]] > 0).all().all()
    assert result.item_seeds == [0, 1, 2] and 0 <= result.evaluator.held_out_accuracy <= 1
    # BPE with s = 0 is RPE only and with s = all steps APE only: same network, compositions and noise
    sweep, items = s_tradeoff(result, fractions=(0.0, 0.5, 1.0))
    assert list(sweep.index) == [0, 2, 4] and sorted(items) == [0, 2, 4]
    assert sweep.loc[0, "PJ"] == pytest.approx(table.loc["RPE only", "PJ"])
    assert sweep.loc[4, "PJ"] == pytest.approx(table.loc["APE only", "PJ"])
    assert len(items[2]) == cfg.compositions
    comp = repeated_composition(result.data, "walk forward", 7, 24)
    positions = result.data.to_positions(generate(result.model, result.data, comp, "BPE", cfg, 0))
    assert positions.shape == (7 * 24, 16, 3) and repeat_stability(positions, comp) > 0
    samples = sample_repeats(result, comp, [0, 1])
    assert len(samples) == 2 and samples[0].shape == (7 * 24, 16, 3) and not np.allclose(samples[0], samples[1])
    with pytest.raises(ValueError, match="more than 5 segments"):
        repeat_stability(positions[:72], repeated_composition(result.data, "walk forward", 3, 24))
    with pytest.raises(ValueError, match="unknown action"):
        repeated_composition(result.data, "moonwalk", 4, 24)


def test_jerk_floor_ignores_the_joins():
    from cvkit.papers.flowmdm import jerk_floor

    t = np.arange(60, dtype=float)
    smooth = np.zeros((60, 2, 3))
    smooth[:, :, 0] = (0.01 * t ** 3)[:, None]  # constant jerk 0.06 per frame³ on every joint
    jumped = smooth.copy()
    jumped[30:, :, 1] += 5.0  # a jump at the boundary frame 30
    assert jerk_floor(smooth, [30], window=10) == pytest.approx(0.06)
    assert jerk_floor(jumped, [30], window=10) == pytest.approx(0.06)  # the join is left out of the floor
    assert peak_jerk(mean_transition_jerk(jumped, [30], window=10)) / jerk_floor(jumped, [30], window=10) > 100
    with pytest.raises(ValueError, match="outside"):
        jerk_floor(smooth[:12], [6], window=12)


def test_banded_attention_equals_masked_dense_attention():
    from cvkit.papers.flowmdm import banded_attention

    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 17, 8, generator=gen) for _ in range(3))
    for horizon in (0, 2, 16, 30):  # 0: only itself; ≥ L − 1: full attention
        allowed = torch.as_tensor(window_mask(17, horizon))
        dense = torch.softmax((q @ k.transpose(-1, -2) / 8**0.5).masked_fill(~allowed, float("-inf")), -1) @ v
        assert torch.allclose(banded_attention(q, k, v, horizon), dense, atol=1e-5)
    assert torch.allclose(banded_attention(q, k, v, 0), v)
    with pytest.raises(ValueError, match="horizon"):
        banded_attention(q, k, v, -1)


def test_bvh_to_stick_resample_and_jerk_statistics(tmp_path):
    from cvkit.core.motion import read_bvh
    from cvkit.papers.flowmdm import BVH_JOINT_MAPS, bvh_to_stick, jerk_statistics, resample, standing_height

    names = list(BVH_JOINT_MAPS["cmu"].values())
    lines = ["HIERARCHY", f"ROOT {names[0]}", "{", "OFFSET 0 0 0",
             "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"]
    for name in names[1:]:  # a chain is enough to test the name lookup
        lines += [f"JOINT {name}", "{", "OFFSET 0 -1 0", "CHANNELS 3 Zrotation Xrotation Yrotation"]
    lines += ["End Site", "{", "OFFSET 0 -1 0", "}"] + ["}"] * len(names)
    channels = 6 + 3 * (len(names) - 1)
    lines += ["MOTION", "Frames: 13", "Frame Time: 0.0083333"]
    lines += [" ".join([str(0.01 * t)] + ["0"] * (channels - 1)) for t in range(13)]
    path = tmp_path / "chain.bvh"
    path.write_text("\n".join(lines))
    motion = read_bvh(path)
    stick = bvh_to_stick(motion, BVH_JOINT_MAPS["cmu"])
    assert stick.shape == (13, 16, 3) and np.allclose(stick[:, 0, 0], 0.01 * np.arange(13))
    slow = resample(stick, motion.fps, 20.0)  # 120 fps → 20 fps: every 6th frame of a 0.1 s clip
    assert slow.shape == (3, 16, 3) and np.allclose(slow[:, 0, 0], [0.0, 0.06, 0.12], atol=1e-3)
    assert standing_height(stick) == pytest.approx(float(stick[0, 3, 1] - stick[0, [12, 15], 1].min()))
    stats = jerk_statistics([stick])
    assert stats["mean"] == pytest.approx(0.0, abs=1e-9)  # uniform motion has no jerk
    with pytest.raises(ValueError, match="unknown joint"):
        bvh_to_stick(motion, BVH_JOINT_MAPS["hips-ab-chest"])
    with pytest.raises(ValueError, match="does not say where to find"):
        bvh_to_stick(motion, {"pelvis": names[0]})
    with pytest.raises(ValueError, match="at least one"):
        jerk_statistics([])


def test_identity_treatment_gives_a_paired_difference_of_exactly_zero(tiny_result):
    """BPE with s = 0 absolute steps *is* RPE only: generated again from each composition's own noise stream, it must
    reproduce the RPE-only arm exactly, so every paired difference is 0 (common random numbers, no shared generator)."""
    from cvkit.core.claims import paired
    from cvkit.papers.flowmdm import generate, measure_items

    result, cfg = tiny_result, tiny_result.config
    identity = [generate(result.model, result.data, c, "BPE", cfg, s, absolute_steps=0)
                for s, c in zip(result.item_seeds, result.compositions)]
    assert all(torch.equal(a, b) for a, b in zip(identity, result.generated["RPE only"]))
    items = measure_items(result.data, result.evaluator, result.compositions, identity, cfg.window)
    for column in ("PJ", "AUJ", "accuracy"):
        m = paired(items[column], result.items["RPE only"][column], "composition")
        assert m.values == (0.0,) * cfg.compositions
    # a one-segment composition generated "independently" starts from the same noise as in one pass: identical
    from cvkit.papers.flowmdm import Composition

    single = Composition([30], [result.compositions[0].actions[0]], [result.compositions[0].text_ids[0]])
    assert torch.equal(generate(result.model, result.data, single, "independent", cfg, 5),
                       generate(result.model, result.data, single, "BPE", cfg, 5))


def test_compositions_come_from_their_own_item_streams(tiny_result):
    from cvkit.papers.flowmdm import make_compositions

    result, cfg = tiny_result, tiny_result.config
    many = make_compositions(result.data, cfg, [0, 1, 2, 3])
    assert make_compositions(result.data, cfg, [2])[0] == many[2]  # item 2 does not depend on the others
    assert many[:3] == result.compositions
    for comp in many:
        assert len(comp.lengths) == cfg.segments and len(set(comp.actions)) == cfg.segments
        assert all(cfg.segment_frames[0] <= n <= cfg.segment_frames[1] for n in comp.lengths)


def test_specs_cover_every_scale_and_match_the_measurements(tiny_result):
    import json
    from pathlib import Path

    from cvkit.core.claims import Measurement, NotMeasured, decide, explanation_anchors
    from cvkit.papers.flowmdm import SPECS, claim_measurements, s_tradeoff

    nb_path = Path(__file__).resolve().parents[1] / "nbs" / "chapters" / "11_flowmdm.ipynb"
    nb = json.loads(nb_path.read_text())
    scales = nb["metadata"]["cvkit"]["scales"]
    assert scales == ["smoke", "laptop", "gpu"]
    assert sum(s.central for s in SPECS) == 1
    anchors = explanation_anchors(nb)
    for spec in SPECS:
        assert set(spec.rules) == set(scales), spec.id
        if spec.explanation:
            assert spec.explanation in anchors, spec.explanation
    _, items = s_tradeoff(tiny_result, fractions=(0.0, 0.5, 1.0))
    measurements = claim_measurements(tiny_result, items, [1.0, 1.5])
    assert list(measurements) == [s.id for s in SPECS]
    assert isinstance(measurements["paper-numbers"], NotMeasured)
    pccat = measurements["auj_pccat_over_plain"]  # the tiny run trains two pairs: two training seeds
    assert isinstance(pccat, Measurement) and pccat.unit == "training seed" and pccat.n == 2
    n = tiny_result.config.compositions
    for key in ("pj_bpe_over_ape", "auj_bpe_over_ape", "pj_bpe_over_blend", "accuracy_bpe_minus_rpe",
                "accuracy_bpe_over_ape", "rho_s_pj", "accuracy_s_all_minus_s0"):
        assert measurements[key].unit == "composition" and measurements[key].n == n, key
    assert measurements["accuracy_bpe_minus_rpe"].chance == pytest.approx(1 / len(tiny_result.evaluator.actions))
    accuracy = measurements["accuracy_bpe_over_ape"]  # the linear form of "≥ 85 % of APE only's accuracy"
    assert np.allclose(accuracy.values, np.array(accuracy.arms["BPE"]) - 0.85 * np.array(accuracy.arms["APE only"]))
    for spec in SPECS:  # every claim can be decided at every scale from these measurements
        for scale in scales:
            decide(spec, measurements[spec.id], scale)
    shift = measurements["accuracy_s_all_minus_s0"]  # s = all steps is APE only, s = 0 is RPE only
    assert np.allclose(shift.values, tiny_result.items["APE only"]["accuracy"] - tiny_result.items["RPE only"]["accuracy"])
    one_network = type(tiny_result)(**{**tiny_result.__dict__, "pairs": None})
    assert isinstance(claim_measurements(one_network, items, [1.0, 1.5])["auj_pccat_over_plain"], NotMeasured)


def test_rank_correlations_per_composition():
    import pandas as pd

    from cvkit.papers.flowmdm import item_rank_correlations, rank_correlation

    assert rank_correlation([0, 1, 2], [5, 5, 5]) == 0.0 and rank_correlation([0, 1, 2], [1, 2, 3]) == 1.0
    items = {s: pd.DataFrame({"PJ": [s, -s, 1.0]}) for s in (0, 2, 5)}  # rising, falling, flat
    assert item_rank_correlations(items, "PJ").tolist() == [1.0, -1.0, 0.0]


def test_compose_from_text_and_animation():
    from cvkit.papers.flowmdm import FlowConfig, animate_composition, compose_from_text, run_experiment

    cfg = FlowConfig(clips=40, train_steps=5, ddim_steps=3, compositions=1, evaluator_clips=40)
    result = run_experiment(cfg, 0)
    positions, recognised = compose_from_text(result, ["a person jumps", "someone kicks"], [20, 24], seed=0)
    assert positions.shape == (44, 16, 3) and len(recognised) == 2 and set(recognised) <= set(result.data.actions)
    fig = animate_composition(positions, [20, 24], ["a person jumps", "someone kicks"], title="t")
    titles = [frame.layout.title.text for frame in fig.frames]
    assert titles[0].endswith("segment 1: a person jumps") and titles[-1].endswith("segment 2: someone kicks")
    with pytest.raises(ValueError, match="2 texts but 3"):
        compose_from_text(result, ["a", "b"], [10, 10, 10])
    with pytest.raises(ValueError, match="add up"):
        animate_composition(positions, [20, 20], ["a", "b"])


def test_lengths_from_spans():
    from cvkit.papers.flowmdm import lengths_from_spans

    assert lengths_from_spans([(0, 3), (3, 5), (5, 9)], total=9).tolist() == [3, 2, 4]
    with pytest.raises(ValueError, match="overlaps"):
        lengths_from_spans([(0, 4), (3, 6)])
    with pytest.raises(ValueError, match="belong to no segment"):
        lengths_from_spans([(0, 4), (5, 6)])
    with pytest.raises(ValueError, match="empty"):
        lengths_from_spans([(0, 4), (4, 4)])
    with pytest.raises(ValueError, match="add up to 6"):
        lengths_from_spans([(0, 4), (4, 6)], total=8)
    with pytest.raises(ValueError, match="at least one segment"):
        lengths_from_spans([])


def test_training_crops_cover_the_test_segment_lengths():
    """Absolute mode must never meet, at test, a position or a segment length it was not trained on: test segments are
    at most the training crop, and training crops vary over the test segments' range."""
    from cvkit.core.motion import generate_dataset  # noqa: F401 (the data generator the motion set uses)
    from cvkit.papers.flowmdm import FlowConfig, FlowMDMDenoiser, make_motion_set, train_flowmdm

    with pytest.raises(ValueError, match="segment_frames"):
        FlowConfig(length=40, segment_frames=(36, 44))
    cfg = FlowConfig(clips=16, length=40, segment_frames=(32, 40), train_steps=12, batch=4)
    data = make_motion_set(cfg.clips, cfg.length, 0)
    seen = []
    original = FlowMDMDenoiser.forward

    def spy(self, x_t, t, text, lengths, mode):
        seen.append(x_t.shape[1])
        return original(self, x_t, t, text, lengths, mode)

    FlowMDMDenoiser.forward = spy
    try:
        train_flowmdm(data, cfg, 0)
    finally:
        FlowMDMDenoiser.forward = original
    assert min(seen) >= 32 and max(seen) <= 40 and len(set(seen)) > 1


def test_training_uses_only_its_own_streams():
    "No global torch generator: the global state is untouched, and perturbing it does not change the trained network."
    from cvkit.papers.flowmdm import FlowConfig, make_motion_set, train_flowmdm

    cfg = FlowConfig(clips=16, train_steps=3, batch=4)
    data = make_motion_set(cfg.clips, cfg.length, 0)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = train_flowmdm(data, cfg, 7)
    assert torch.equal(torch.get_rng_state(), before)
    torch.rand(5)  # move the global generator
    b = train_flowmdm(data, cfg, 7)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    c = train_flowmdm(data, cfg, 8)
    assert not torch.equal(a.inp.weight, c.inp.weight)


def test_threads_are_pinned_and_restored():
    from cvkit.papers.flowmdm import FlowConfig, run_experiment

    threads = torch.get_num_threads()
    seen = []
    import cvkit.papers.flowmdm as flow
    original = flow._run_experiment
    flow._run_experiment = lambda *args: seen.append(torch.get_num_threads())
    try:
        run_experiment(FlowConfig(threads=1), 0)
    finally:
        flow._run_experiment = original
    assert seen == [1] and torch.get_num_threads() == threads


def test_more_bad_inputs_are_refused():
    from cvkit.core.diffusion import alphas_cumprod_schedule
    from cvkit.papers.flowmdm import (FlowConfig, bpe_sample, flowmdm_loss, pose_features, repeat_stability,
                                      repeated_composition, resample, standing_height, Composition)

    with pytest.raises(ValueError, match="positions"):
        rotary(torch.zeros(1, 20, 8), torch.tensor([3]))  # one position for 20 frames
    with pytest.raises(ValueError, match="integer"):
        bpe_schedule(5, True)
    with pytest.raises(ValueError, match="integer"):
        bpe_schedule(5, 2.5)
    with pytest.raises(ValueError, match="ground_truth"):
        area_under_jerk(np.ones(5), float("nan"))
    with pytest.raises(ValueError, match="ground_truth"):
        area_under_jerk(np.ones(5), -1.0)
    with pytest.raises(ValueError, match="fps_in"):
        resample(np.zeros((10, 16, 3)), float("inf"), 20.0)
    with pytest.raises(ValueError, match="J ≥ 1"):
        pose_features(np.zeros((5, 0, 3)))
    with pytest.raises(ValueError, match="StickMotion"):
        standing_height(np.zeros((5, 4, 3)))
    comp = Composition([10] * 7, ["walk forward"] * 7, [0] * 7)
    with pytest.raises(ValueError, match="last"):
        repeat_stability(np.zeros((70, 16, 3)), comp, last=0)
    model, (x, t, text) = _denoiser(), _inputs()
    ac = alphas_cumprod_schedule(50, "squaredcos_cap_v2").float()
    with pytest.raises(ValueError, match="p_relative"):
        flowmdm_loss(model, x, text, ac, torch.Generator().manual_seed(0), p_relative=2.0)
    with pytest.raises(ValueError, match="guidance"):
        bpe_sample(model.eval(), text, [12], ac, num_steps=4, absolute_steps=1, guidance=float("nan"))
    with pytest.raises(ValueError, match="alphas_cumprod"):
        bpe_sample(model, text, [12], ac.flip(0), num_steps=4, absolute_steps=1)
    with pytest.raises(TypeError):
        bpe_sample(model, text, [12], ac, 4, 1)  # the options are keyword-only
    with pytest.raises(ValueError, match="threads"):
        FlowConfig(threads=-1)
