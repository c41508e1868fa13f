"""cvkit.papers.tpatches: t-patch extraction, per-frame grouping, the networks, loss and metrics, the experiment's
plumbing and its claims; hand-computed cases, agreement with scikit-learn, invariances and bad-input errors."""
import math

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import average_precision_score, balanced_accuracy_score

from cvkit.core.claims import Measurement, NotMeasured, seeded_init
from cvkit.core.points import farthest_point_sampling, gather_points
from cvkit.papers.tpatches import (ACTION_NAMES, ARMS, CONFIGS, SPECS, WALK_PAIR, Experiment, Grouping, PerFramePointNet,
                                   TemporalConv, TPatchConfig, TPatchNet, build_model, claim_measurements, clip_logits,
                                   clip_positions, extract_tpatches, frame_groups, frame_metrics, group_points,
                                   level_groupings, make_clouds, normalise_sequence, pair_accuracy, patch_points,
                                   run_experiment, tpatch_loss, track_patches, tracking_drift, train_arm,
                                   walk_order, _on, cache_groupings, CONTROL, condition_drops, drift_per_action,
                                   drift_per_subject, least_favourable, seed_scores)

TINY = TPatchConfig(clips_per_action=3, train_per_action=2, frames=8, points=64, patches=(16, 4), k=4,
                    widths=((8, 8), (8, 16)), temporal_kernels=(3, 3), head=(16, 16), head_kernel=3, epochs=1,
                    arms=tuple(ARMS), batch=4, robustness=True)


@pytest.fixture(scope="module")
def clips():
    return make_clouds([0], 3, 8, 64)


@pytest.fixture(scope="module")
def fixed_clips():
    return make_clouds([0], 3, 8, 64, mode="fixed", noise=0.0)


def test_normalise_sequence():
    x = np.random.default_rng(0).normal(size=(5, 20, 3)) * 3 + 7
    y = normalise_sequence(x)
    assert np.allclose(y.reshape(-1, 3).mean(0), 0, atol=1e-12)
    assert np.isclose(np.linalg.norm(y[0] - y[0].mean(0), axis=1).max(), 1.0)
    with pytest.raises(ValueError, match="shape"):
        normalise_sequence(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="extent"):
        normalise_sequence(np.ones((2, 4, 3)))


def test_clouds_and_the_walk_pair(clips):
    assert clips.clouds.shape == (9, 8, 64, 3) and clips.labels.tolist() == list(range(9))
    again = make_clouds([0], 3, 8, 64)
    assert torch.equal(clips.clouds, again.clouds)  # seeded
    f, _ = clip_positions("walk forward", 0, 3, 8)
    b, _ = clip_positions("walk backward", 0, 3, 8)
    # the same gait: joint-to-joint distances agree frame by frame (only yaw and travel differ)
    df = np.linalg.norm(f[:, :, None] - f[:, None], axis=-1)
    db = np.linalg.norm(b[:, :, None] - b[:, None], axis=-1)
    assert np.allclose(df, db, atol=1e-9)
    assert not np.allclose(f[-1, 0] - f[0, 0], b[-1, 0] - b[0, 0])


def test_tracking_modes(fixed_clips):
    clip = fixed_clips.clouds[:2]
    seeds = farthest_point_sampling(clip[:, 0], 6)
    idx, cen = track_patches(clip, seeds, 4, mode="nn")
    assert idx.shape == (2, 6, 8, 4) and cen.shape == (2, 6, 8, 3)
    assert torch.equal(idx[:, :, 0, 0], seeds)
    assert torch.equal(cen, torch.stack([gather_points(clip[:, t], idx[:, :, t, 0]) for t in range(8)], 2))
    _, gt = track_patches(clip, seeds, 4, mode="gt")
    assert torch.equal(gt, torch.stack([gather_points(clip[:, t], seeds) for t in range(8)], 2))
    d_nn, spacing = tracking_drift(clip, 6, 4, mode="nn", jitter=0.0, generator=torch.Generator().manual_seed(0))
    d_gt, _ = tracking_drift(clip, 6, 4, mode="gt", jitter=0.0, generator=torch.Generator().manual_seed(0))
    assert torch.all(d_gt == 0) and torch.all(d_nn[:, 0] == 0) and torch.all(spacing > 0)
    # randn with one neighbour is nn
    _, r1 = track_patches(clip, seeds, 1, mode="randn", generator=torch.Generator().manual_seed(0))
    _, n1 = track_patches(clip, seeds, 1, mode="nn")
    assert torch.equal(r1, n1)


def test_radius_clipping_and_local_coordinates(clips):
    clip = clips.clouds[:1]
    tp = extract_tpatches(clip, 5, 4, radius=1e-9)  # every neighbour but the nearest is too far
    assert torch.equal(tp.idx, tp.idx[..., :1].expand_as(tp.idx))
    tp = extract_tpatches(clip, 5, 4)
    local = patch_points(clip, tp)
    assert local.shape == (1, 5, 8, 4, 3)
    assert torch.allclose(local[:, :, 0, 0], torch.zeros(1, 5, 3))  # the seed minus itself
    raw = torch.stack([gather_points(clip[:, t], tp.idx[:, :, t]) for t in range(8)], 2)
    assert torch.allclose(local, raw - tp.start[:, :, None, None])


def test_bidirectional(clips):
    tp = extract_tpatches(clips.clouds[:2], 7, 4, bidirectional=True)
    assert int(tp.forward.sum()) == 2 * 4 and int((~tp.forward).sum()) == 2 * 3
    back = ~tp.forward[0]
    assert torch.allclose(tp.start[0, back], tp.centres[0, back, -1])  # backward patches start at the last frame
    seeds_last = farthest_point_sampling(clips.clouds[:2, -1], 3)
    assert torch.equal(tp.idx[:, 4:, -1, 0], seeds_last)


def test_frame_groups(clips):
    g = frame_groups(clips.clouds[:2], 5, 4)
    for t in (0, 5):
        seeds = farthest_point_sampling(clips.clouds[:2, t], 5)
        assert torch.equal(g.idx[:, :, t, 0], seeds)
    assert torch.allclose(group_points(clips.clouds[:2], g)[:, :, :, 0], torch.zeros(2, 5, 8, 3))


def test_bad_inputs(clips):
    with pytest.raises(ValueError, match="at least k = 100"):
        extract_tpatches(clips.clouds[:1], 4, 100)
    bad = clips.clouds[:1].clone()
    bad[0, 3, 5, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        extract_tpatches(bad, 4, 3)
    with pytest.raises(ValueError, match="unknown sampling mode 'nearest'"):
        track_patches(clips.clouds[:1], torch.zeros(1, 2, dtype=torch.long), 3, mode="nearest")
    with pytest.raises(ValueError, match="shorter than the temporal kernel"):
        TemporalConv(4, 5)(torch.zeros(1, 3, 4))
    with pytest.raises(ValueError, match="odd"):
        TemporalConv(4, 2)
    with pytest.raises(ValueError, match="shape"):
        extract_tpatches(clips.clouds[0], 4, 3)
    with pytest.raises(ValueError, match="train_per_action"):
        TPatchConfig(clips_per_action=2, train_per_action=2, frames=8, points=64, patches=(4,), k=4, widths=((8,),),
                     temporal_kernels=(3,), head=(8, 8), head_kernel=3, epochs=1, arms=("tpatch",))
    with pytest.raises(ValueError, match="unknown arms"):
        TPatchConfig(clips_per_action=3, train_per_action=2, frames=8, points=64, patches=(4,), k=4, widths=((8,),),
                     temporal_kernels=(3,), head=(8, 8), head_kernel=3, epochs=1, arms=("b9",))


def test_more_bad_inputs(clips):
    x = clips.clouds[:1]
    seeds = torch.zeros(1, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="jitter"):
        track_patches(x, seeds, 3, jitter=-0.1)
    with pytest.raises(ValueError, match="radius"):
        extract_tpatches(x, 4, 3, radius=-1.0)
    with pytest.raises(ValueError, match="labels must lie"):
        frame_metrics(torch.zeros(1, 4, 9), torch.tensor([12]))
    with pytest.raises(ValueError, match="at least one clip"):
        frame_metrics(torch.zeros(0, 4, 9), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="NaN"):
        bad = np.zeros((3, 5, 3))
        bad[0] = np.random.default_rng(0).normal(size=(5, 3))
        bad[2, 1, 0] = np.nan
        normalise_sequence(bad)
    groups = level_groupings(clips.clouds[:2], ARMS["tpatch"], TINY, generator=torch.Generator().manual_seed(0))
    with seeded_init(0, "init"):
        net = build_model(ARMS["tpatch"], TINY).eval()
    with pytest.raises(ValueError, match="one Grouping per level"):
        net(clips.clouds[:2], [*groups, groups[0]])
    for change, match in (({"temporal_kernels": (2, 3)}, "odd"), ({"epochs": 0}, "epochs"), ({"lr": -1.0}, "lr"),
                          ({"jitter": -0.1}, "jitter"), ({"patches": (4, 16)}, "must not increase")):
        with pytest.raises(ValueError, match=match):
            TPatchConfig(**{**TINY.__dict__, **change})


def test_b2_differs_from_tpatch_only_in_grouping(clips):
    with seeded_init(5, "init"):
        w_tp = build_model(ARMS["tpatch"], TINY).state_dict()
    with seeded_init(5, "init"):
        w_b2 = build_model(ARMS["b2"], TINY).state_dict()
    assert w_tp.keys() == w_b2.keys() and all(torch.equal(w_tp[k], w_b2[k]) for k in w_tp)
    g = level_groupings(clips.clouds[:2], ARMS["b2"], TINY)
    for level in g:  # the origin rule of t-patches: one point per patch, the same in every frame
        assert torch.equal(level.origin, level.origin[:, :, :1].expand_as(level.origin))


def test_reversal_b1_blind_tpatch_net_not(clips):
    x = clips.clouds[:1]
    with seeded_init(0, "init"):
        b1 = PerFramePointNet((8, 16), (16, 16), 9).eval()
        net = TPatchNet(((8, 16),), (3,), (16, 16), 3, 9).eval()

    def groups(c):
        tp = extract_tpatches(c, 8, 4)
        return [Grouping(tp.idx, tp.start[:, :, None].expand(-1, -1, c.shape[1], -1))]

    with torch.no_grad():
        assert torch.allclose(clip_logits(b1(x)), clip_logits(b1(x.flip(1))), atol=1e-6)
        assert not torch.allclose(clip_logits(net(x, groups(x))), clip_logits(net(x.flip(1), groups(x.flip(1)))),
                                  atol=1e-4)


def test_every_arm_builds_and_runs(clips, fixed_clips):
    for key, arm in ARMS.items():
        x = (fixed_clips if arm.data == "fixed" else clips).clouds[:2]  # the oracle needs clouds with correspondence
        groups = level_groupings(x, arm, TINY, generator=torch.Generator().manual_seed(0))
        model = build_model(arm, TINY).eval()
        with torch.no_grad():
            out = model(x, groups)
        assert out.shape == (2, 8, 9), key


def test_metrics_agree_with_sklearn():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(6, 5, 4, generator=gen)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    m = frame_metrics(z, y)
    yf = y.repeat_interleave(5).numpy()
    pred = z.argmax(-1).reshape(-1).numpy()
    assert math.isclose(m["balanced accuracy"], 100 * balanced_accuracy_score(yf, pred))
    probs = z.softmax(-1).reshape(-1, 4).numpy()
    ap = np.mean([average_precision_score(yf == c, probs[:, c]) for c in range(4)])
    assert math.isclose(m["frame mAP"], 100 * ap, rel_tol=1e-6)
    per_clip = (z.argmax(-1) == y[:, None]).float().mean(1).mean()
    assert math.isclose(m["frame top-1"], 100 * float(per_clip), rel_tol=1e-6)
    assert m["frame top-3"] >= m["frame top-1"]
    with pytest.raises(ValueError, match="labels"):
        frame_metrics(z, y[:3])


def test_pair_accuracy_and_loss():
    z = torch.zeros(2, 3, 9)
    z[0, :, WALK_PAIR[0]] = 1.0  # a walk forward clip called forward
    z[1, :, WALK_PAIR[0]] = 1.0  # a walk backward clip called forward
    assert pair_accuracy(z, torch.tensor(list(WALK_PAIR))) == 0.5
    with pytest.raises(ValueError, match="no clip"):
        pair_accuracy(z, torch.tensor([4, 5]))
    assert math.isclose(tpatch_loss(torch.zeros(2, 4, 9), torch.tensor([1, 2])).item(), math.log(9), rel_tol=1e-6)


def test_a_tiny_set_is_overfit():
    train = make_clouds([0, 1], 11, 8, 64)
    cfg = TPatchConfig(clips_per_action=3, train_per_action=2, frames=8, points=64, patches=(16, 4), k=4,
                       widths=((16, 32), (32, 32)), temporal_kernels=(3, 3), head=(32, 32), head_kernel=3, epochs=40,
                       arms=("tpatch",), batch=6, lr=3e-3)
    run = train_arm("tpatch", train, train, cfg, 11)
    assert run.losses[-1] < 0.5 * run.losses[0]
    assert run.train_accuracy >= 80.0


def test_experiment_and_claims_plumbing():
    exp = run_experiment(TINY, 5, progress=False)
    m = claim_measurements(exp)
    assert set(m) == {s.id for s in SPECS}
    assert all(isinstance(v, Measurement) for v in m.values())  # TINY trains every arm and runs robustness
    assert m["tpatches-beat-no-tracking"].n == 1 and m["nn-drift-small"].n == 1  # one training seed, one test subject
    assert m["tpatches-beat-no-tracking"].unit == "training seed" and m["nn-drift-small"].unit == "test subject"
    assert set(exp.per_clip["condition"]) == {"standard", CONTROL, "48 points", "96 points", "3× noise"}
    # every trained arm's training-set fit is recorded, per training seed (the learning sanity checks use its minimum)
    assert set(exp.train["arm"]) == set(TINY.arms) and exp.train["seed"].unique().tolist() == [5000]
    assert exp.train.set_index("arm").loc["tpatch", "train frame top-1"] == exp.runs["tpatch"].train_accuracy
    # the robustness claims: drops from the same-count control, one condition decided (no maximum over conditions)
    drops = condition_drops(exp, "tpatch")
    assert list(drops.columns) == ["48 points", "96 points", "3× noise"]
    control = seed_scores(exp, "tpatch", CONTROL)
    assert math.isclose(drops.loc[5000, "48 points"], control[5000] - seed_scores(exp, "tpatch", "48 points")[5000])
    assert m["robust-to-resampling"].values[0] in {round(v, 9) for v in drops.loc[5000]}
    smoke_like = TPatchConfig(**{**TINY.__dict__, "arms": ("tpatch", "b1", "b2"), "robustness": False})
    m2 = claim_measurements(run_experiment(smoke_like, 5, progress=False))
    assert isinstance(m2["nn-beats-randn"], NotMeasured) and isinstance(m2["robust-as-b2"], NotMeasured)


def test_training_seeds_are_the_replicates():
    "Each training seed trains both arms of a pair afresh; its value is the pair's difference on that seed's test clips."
    two = TPatchConfig(**{**TINY.__dict__, "arms": ("tpatch", "b2"), "first_seed_arms": ("b1",), "seeds": 2,
                          "robustness": False})
    exp = run_experiment(two, 5, progress=False)
    assert exp.seeds == [5000, 5001] and set(exp.runs) == {"tpatch", "b2", "b1"}
    assert set(exp.per_clip.loc[exp.per_clip["arm"] == "b1", "seed"]) == {5000}  # first-seed arm: one training only
    m = claim_measurements(exp)
    central = m["tpatches-beat-no-tracking"]
    assert central.n == 2 and central.unit == "training seed"
    for i, s in enumerate(exp.seeds):
        rows = exp.per_clip[(exp.per_clip["seed"] == s) & (exp.per_clip["condition"] == "standard")]
        by_arm = {a: 100 * g["correct frames"].sum() / g["frames"].sum() for a, g in rows.groupby("arm")}
        assert math.isclose(central.values[i], by_arm["tpatch"] - by_arm["b2"], abs_tol=1e-8)
    assert isinstance(m["tpatches-beat-per-frame"], Measurement) and m["tpatches-beat-per-frame"].n == 1
    # the first training seed is the one-seed run: same subjects, same streams, same numbers
    one = run_experiment(TPatchConfig(**{**two.__dict__, "seeds": 1, "first_seed_arms": ()}), 5, progress=False)
    first = exp.per_clip[(exp.per_clip["seed"] == 5000) & (exp.per_clip["arm"] == "tpatch")]
    assert np.array_equal(first["correct frames"].to_numpy(),
                          one.per_clip.loc[one.per_clip["arm"] == "tpatch", "correct frames"].to_numpy())
    assert exp.drift["seed"].nunique() == 2 and exp.drift["clip"].nunique() == 18  # drift on both seeds' clips


def test_walk_order_measures_by_hand():
    "Pairwise accuracy, AUC of z_backward − z_forward, and the mean margin, on logits chosen by hand."
    f, b = WALK_PAIR
    rows = []
    # seed 0: subject 0 ranks both right (d = -2 for forward, +1 for backward); subject 1 calls both forward (d = -1, -0.5)
    for subject, label, d in ((0, f, -2.0), (0, b, 1.0), (1, f, -1.0), (1, b, -0.5)):
        z = np.zeros(9)
        z[b] = d
        rows.append({"seed": 0, "arm": "b1", "condition": "standard", "subject": subject, "label": label,
                     "clip logits": z})
    exp = Experiment(TINY, {}, pd.DataFrame(rows), pd.DataFrame(), pd.DataFrame(), None, [0])
    w = walk_order(exp, "b1").loc[0]
    assert w["pairwise accuracy"] == 0.75  # 3 of 4 clips: forward clips right twice, backward right once
    # AUC: backward d's {1, -0.5} vs forward d's {-2, -1}: all 4 pairs ordered → 1.0
    assert w["AUC"] == 1.0
    assert math.isclose(w["margin"], (2.0 + 1.0 + 1.0 - 0.5) / 4)
    with pytest.raises(KeyError, match="no walk clips"):
        walk_order(exp, "tpatch")


def test_device_path_on_cpu_is_the_default_path():
    "DEVICE: an explicit CPU device trains bit-identically to the default; batches already there are not copied."
    train, test = make_clouds([0, 1], 3, 8, 64), make_clouds([2], 3, 8, 64)
    a = train_arm("tpatch", train, test, TINY, 3)
    b = train_arm("tpatch", train, test, TINY, 3, device=torch.device("cpu"))
    assert torch.equal(a.test_logits, b.test_logits) and a.test_logits.device.type == "cpu"
    # groupings computed "on the device" (here the CPU) are those of the default path, cached on the clouds' device
    for key in ("tpatch", "randn", "b2", "b3"):
        here = cache_groupings(test.clouds, ARMS[key], TINY, generator=torch.Generator().manual_seed(1))
        there = cache_groupings(test.clouds, ARMS[key], TINY, generator=torch.Generator().manual_seed(1),
                                device=torch.device("cpu"))
        assert all(torch.equal(a.idx, b.idx) and torch.equal(a.origin, b.origin) for a, b in zip(here, there))
    with pytest.raises(ValueError, match="at least one clip"):
        cache_groupings(test.clouds[:0], ARMS["tpatch"], TINY)
    groups = [Grouping(torch.zeros(1, 2, 8, 4, dtype=torch.long), torch.zeros(1, 2, 8, 3))]
    x, moved = _on(test.clouds[:1], groups, torch.device("cpu"))
    assert x.data_ptr() == test.clouds[:1].data_ptr() and moved[0].idx is groups[0].idx


def test_seed_options_are_checked():
    with pytest.raises(ValueError, match="seeds"):
        TPatchConfig(**{**TINY.__dict__, "seeds": 0})
    with pytest.raises(ValueError, match="first_seed_arms"):
        TPatchConfig(**{**TINY.__dict__, "first_seed_arms": ("b1",)})
    with pytest.raises(ValueError, match="unknown arms"):
        TPatchConfig(**{**TINY.__dict__, "arms": ("tpatch",), "first_seed_arms": ("b9",)})
    with pytest.raises(ValueError, match="last training batch of one clip"):
        TPatchConfig(**{**TINY.__dict__, "batch": 17})  # 18 training clips: batches of 17 and 1
    for cfg in CONFIGS.values():  # every scale's batches have at least two clips
        assert (cfg.train_per_action * len(ACTION_NAMES)) % cfg.batch != 1


def test_configs_and_pins():
    assert set(CONFIGS) == {"smoke", "laptop", "gpu"}
    assert set(CONFIGS["smoke"].arms) == {"tpatch", "b1", "b2"}
    central = [s for s in SPECS if s.central]
    assert len(central) == 1 and central[0].rule("laptop").threshold == 3.0 and central[0].rule("smoke").threshold == -2.0
    lap = CONFIGS["laptop"]
    assert lap.seeds >= 5  # n ≥ 5 independently trained pairs decide the compared claims
    assert set(lap.arms) >= {"tpatch", "b1", "b2", "randn", "vis_bi", "vis_fwd"}  # every compared arm, on every seed


def test_three_levels_as_at_gpu(clips):
    three = TPatchConfig(clips_per_action=3, train_per_action=2, frames=8, points=64, patches=(16, 8, 4), k=4,
                         widths=((8, 8), (8, 16), (16, 16)), temporal_kernels=(3, 3, 3), head=(16, 16), head_kernel=3,
                         epochs=1, arms=tuple(ARMS), radii=(0.2, 0.4, None))
    for cfg in CONFIGS.values():  # the paper's three t-patch levels at every scale; level 3 keeps every level-2 centre
        assert len(cfg.patches) == len(cfg.widths) == len(cfg.temporal_kernels) == 3 and not cfg.global_widths
        assert cfg.patches[2] == cfg.patches[1] and cfg.radii[2] is None
    assert CONFIGS["gpu"].widths[-1] == (256, 512, 1024) and CONFIGS["gpu"].temporal_kernels == (7, 3, 3)
    with_global = TPatchConfig(**{**three.__dict__, "global_widths": (16, 32)})
    for cfg in (three, with_global):
        for key in ("tpatch", "b2", "b3"):
            groups = level_groupings(clips.clouds[:2], ARMS[key], cfg, generator=torch.Generator().manual_seed(0))
            with torch.no_grad():
                assert build_model(ARMS[key], cfg).eval()(clips.clouds[:2], groups).shape == (2, 8, 9)


def test_least_favourable_is_an_intersection_union_choice():
    "The robustness claims are decided on one condition: one wholly failing if any, else the one reaching highest."
    ok = pd.DataFrame({"a": [0.0, 0.5, 1.0, 0.2, 0.4], "b": [1.0, 1.2, 0.8, 1.1, 0.9], "c": [-1.0, -2.0, -1.5, -1.0, -2.5]})
    assert least_favourable(ok, 3.0) == "b"  # no condition fails: the highest upper bound (b's mean is highest)
    wide = ok.assign(a=[-8.0, 9.0, -7.0, 8.0, 0.0])  # a straddles the threshold with the highest upper bound
    assert least_favourable(wide, 3.0) == "a"
    failing = wide.assign(c=[4.0, 4.1, 3.9, 4.2, 4.0])  # c lies wholly above 3: the claim fails, whatever a does
    assert least_favourable(failing, 3.0) == "c"
    # a per-seed maximum would be biased upwards: three conditions of pure noise around 0 give a positive mean maximum
    noise = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 3)), columns=list("xyz"))
    assert noise.max(axis=1).mean() > 0.5 and abs(noise[least_favourable(noise, 3.0)].mean()) < 0.25
    assert least_favourable(ok.iloc[:1], 3.0) == "b"  # one seed: the largest value
    with pytest.raises(ValueError, match="at least one row"):
        least_favourable(pd.DataFrame(), 3.0)


def test_drift_replicates_are_subjects():
    "Drift is averaged over each test subject's nine actions (the subject is the replicate), and shown per action."
    rows = []
    for seed in (0, 1):
        for subject in (2, 3):
            for a, action in enumerate(ACTION_NAMES):
                for mode, base in (("nn", 0.1), ("randn", 0.3)):
                    for frame, scale in ((0, 0.0), (7, 1.0)):
                        rows.append({"seed": seed, "clip": 0, "subject": subject, "mode": mode, "action": action,
                                     "frame": frame, "drift": scale * (base + 0.01 * a + seed), "spacing": 0.05})
    exp = Experiment(TINY, {}, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(rows), None, [0, 1])
    nn_ = drift_per_subject(exp, "nn")
    assert len(nn_) == 4  # (seed, subject) pairs, not 36 clips
    assert math.isclose(nn_.loc[(1, 3), "drift"], 0.1 + 0.01 * 4 + 1)  # the mean over the nine actions (a = 0 … 8)
    assert math.isclose(nn_.loc[(0, 2), "drift / spacing"], (0.1 + 0.04) / 0.05)
    per_action = drift_per_action(exp)
    assert list(per_action.index) == list(ACTION_NAMES) and (per_action["subjects"] == 4).all()
    assert math.isclose(per_action.loc["idle", "randn drift / spacing"], (0.3 + 0.08 + 0.5) / 0.05)
    with pytest.raises(KeyError, match="no drift"):
        drift_per_subject(exp, "gt")



def test_bad_inputs_review_12(clips, fixed_clips):
    "Inputs that an earlier version accepted silently or answered with a library's error now get a clear ValueError."
    x = clips.clouds[:2]
    with pytest.raises(ValueError, match="correspondence"):  # the oracle on clouds sampled afresh every frame
        extract_tpatches(x, 4, 3, mode="gt")
    tp = extract_tpatches(fixed_clips.clouds[:2], 4, 3, mode="gt")  # with correspondence it runs
    assert tp.idx.shape == (2, 4, 8, 3)
    with pytest.raises(ValueError, match="at least one subject"):
        make_clouds([], 3, 8, 64)
    with pytest.raises(ValueError, match="at least one clip"):
        extract_tpatches(torch.zeros(1, 0, 64, 3), 4, 3)
    with pytest.raises(ValueError, match="at least one clip"):
        extract_tpatches(torch.zeros(0, 8, 64, 3), 4, 3)
    with pytest.raises(ValueError, match="radius"):
        frame_groups(x, 4, 3, radius=-1.0)
    with pytest.raises(ValueError, match="seeds must be indices"):
        track_patches(x, torch.full((2, 4), 999), 3)
    with pytest.raises(ValueError, match="seeds must be indices"):
        track_patches(x, torch.zeros(3, 4, dtype=torch.long), 3)
    with pytest.raises(ValueError, match="pair must be two different classes"):
        pair_accuracy(torch.zeros(2, 4, 9), torch.tensor([0, 1]), pair=(0, 20))
    with pytest.raises(ValueError, match="labels must lie"):
        tpatch_loss(torch.zeros(1, 4, 9), torch.tensor([12]))
    with pytest.raises(ValueError, match="NaN"):
        frame_metrics(torch.full((1, 4, 9), float("nan")), torch.tensor([1]))
    for change, message in (({"k": 0}, "k ≥ 1"), ({"patches": (0, 0)}, "patch"), ({"noise": -1.0}, "noise"),
                            ({"radii": (-0.2, 0.4)}, "radii"), ({"global_widths": (8,), "global_kernel": 9}, "global")):
        with pytest.raises(ValueError, match=message):
            TPatchConfig(**{**TINY.__dict__, **change})


def test_gpu_configuration_runs_end_to_end_on_cpu():
    """The gpu configuration's code path, run on the CPU: the gpu MODEL sizes (the three levels' widths up to 1024,
    temporal kernels [7, 3, 3], head (512, 256) with its kernel) and every gpu arm (the six compared arms, B3, `gt` and
    nn on registered clouds), with tiny data (one training and one test subject per action, as many frames as the head
    kernel, 32 points, [8, 2, 2] patches of k = 4), one epoch and one training seed (smoke runs two: the pairing over seeds is tested there); then every
    claim is measured and decided at scale "gpu". This proves the configuration runs; it is untested on a real GPU."""
    from dataclasses import replace

    from cvkit.core.claims import ClaimLedger
    gpu = CONFIGS["gpu"]
    dry = replace(gpu, clips_per_action=2, train_per_action=1, frames=gpu.head_kernel, points=32, patches=(8, 2, 2), k=4,
                  epochs=1, seeds=1, batch=9)
    for key in ("widths", "temporal_kernels", "global_widths", "global_kernel", "head", "head_kernel", "arms",
                "first_seed_arms", "lr", "robustness", "radii", "jitter", "noise"):
        assert getattr(dry, key) == getattr(gpu, key), key  # only data size, epochs, seeds and batch differ
    exp = run_experiment(dry, 0, progress=False, device=torch.device("cpu"))
    assert set(exp.runs) == {*gpu.arms, *gpu.first_seed_arms} and len(exp.seeds) == 1
    tp = exp.runs["tpatch"].model
    assert sum(p.numel() for p in tp.parameters()) == sum(p.numel() for p in build_model(ARMS["tpatch"], gpu).parameters())
    assert exp.runs["tpatch"].test_logits.shape == (9, dry.frames, 9)
    assert torch.isfinite(exp.runs["tpatch"].test_logits).all()
    measurements = claim_measurements(exp)
    assert all(isinstance(m, Measurement) for m in measurements.values())  # every gpu claim has its arms and test sets
    claims = ClaimLedger("tpatches", "gpu", show_each=False).check_specs(measurements, SPECS)
    assert len(claims) == len(SPECS)


def test_nn_on_registered_clouds_separates_tracking_from_data(fixed_clips):
    "Review 10: the nn_fixed arm is t-patches' own nn tracking on the gt arm's registered clouds, with the same weights."
    nn_f, gt, tp = ARMS["nn_fixed"], ARMS["gt"], ARMS["tpatch"]
    assert (nn_f.net, nn_f.mode, nn_f.bidirectional, nn_f.data) == (tp.net, tp.mode, tp.bidirectional, gt.data)
    with seeded_init(5, "init"):
        w_nn = build_model(nn_f, TINY).state_dict()
    with seeded_init(5, "init"):
        w_gt = build_model(gt, TINY).state_dict()
    assert all(torch.equal(w_nn[k], w_gt[k]) for k in w_nn)
    x = fixed_clips.clouds[:2]
    g_nn = level_groupings(x, nn_f, TINY, generator=torch.Generator().manual_seed(0))
    g_gt = level_groupings(x, gt, TINY, generator=torch.Generator().manual_seed(0))
    assert not torch.equal(g_nn[0].idx, g_gt[0].idx)  # nn tracking is not the oracle, even on registered clouds
    # adding the arm changes no other arm's numbers (each arm draws its own streams): the laptop claims stay put
    base = TPatchConfig(**{**TINY.__dict__, "arms": ("tpatch", "b2"), "first_seed_arms": ("gt",), "robustness": False})
    more = TPatchConfig(**{**base.__dict__, "first_seed_arms": ("gt", "nn_fixed")})
    a, b = run_experiment(base, 5, progress=False), run_experiment(more, 5, progress=False)
    keep = b.per_clip[b.per_clip["arm"] != "nn_fixed"].reset_index(drop=True)
    assert np.array_equal(a.per_clip["correct frames"].to_numpy(), keep["correct frames"].to_numpy())
    assert set(b.per_clip.loc[b.per_clip["arm"] == "nn_fixed", "seed"]) == {5000}
    assert ARMS["nn_fixed"].label in b.metrics.index


def test_cost_model_counts_by_hand_and_sizes_gpu():
    "Fresh review B1: FLOPs of a training step counted on the meta device, checked by hand; gpu fits 30 min at the rate."
    from cvkit.papers.tpatches import GPU_TFLOPS, run_cost, step_flops
    # B1 at TINY: per clip 8 frames × 64 points through Linear 3→8→8→8→16, then 16→16→16 and 16→9 on the clip vector.
    forward = 512 * (3 * 8 + 8 * 8 + 8 * 8 + 8 * 16) + (16 * 16 + 16 * 16) + 16 * 9  # multiply-adds
    backward = 512 * 3 * 8 + 2 * (512 * (8 * 8 + 8 * 8 + 8 * 16) + 16 * 16 + 16 * 16 + 16 * 9)  # no input grad at layer 1
    assert step_flops("b1", TINY) == 2 * (forward + backward)
    assert step_flops("tpatch", TINY) == step_flops("b2", TINY)  # same network, only the grouping differs
    gpu = CONFIGS["gpu"]
    cost = run_cost(gpu)
    assert cost.loc[ARMS["tpatch"].label, "trainings"] == gpu.seeds and cost.loc[ARMS["b3"].label, "trainings"] == 1
    assert cost["minutes"].sum() <= 30  # the gpu budget at the assumed rate
    issue = TPatchConfig(**{**gpu.__dict__, "clips_per_action": 120, "train_per_action": 84, "frames": 64, "points": 1024,
                            "patches": (512, 128, 128), "epochs": 60})
    assert run_cost(issue)["minutes"].sum() > 30 * 10  # the issue's gpu size: far over budget
    assert math.isclose(run_cost(gpu, tflops=2 * GPU_TFLOPS)["minutes"].sum(), cost["minutes"].sum() / 2)
    with pytest.raises(ValueError, match="unknown arm"):
        step_flops("b9", TINY)
    with pytest.raises(ValueError, match="tflops"):
        run_cost(TINY, tflops=0)


def test_bad_inputs_fresh_review(clips):
    "Fresh review minor 6: NaN clouds or logits, a missing grouping and negative noise get clear errors."
    x = clips.clouds[:2].clone()
    x[0, 1, 3, 0] = float("nan")
    cfg = TINY
    with torch.no_grad():
        for key in ("tpatch", "b1", "b3"):
            model = build_model(ARMS[key], cfg).eval()
            groups = level_groupings(clips.clouds[:2], ARMS[key], cfg, generator=torch.Generator().manual_seed(0))
            with pytest.raises(ValueError, match="NaN"):
                model(x, groups)
        with pytest.raises(ValueError, match="one Grouping"):
            build_model(ARMS["b3"], cfg).eval()(clips.clouds[:2], [])
    z = torch.zeros(2, 8, 9)
    z[1, 2, 4] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        tpatch_loss(z, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="NaN"):
        pair_accuracy(z, torch.tensor(list(WALK_PAIR)))
    with pytest.raises(ValueError, match="noise"):
        make_clouds([0], 3, 8, 64, noise=-1.0)
