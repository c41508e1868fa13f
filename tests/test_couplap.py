import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.linalg import subspace_angles

from cvkit.papers.couplap import (CONFIGS, REAL_FEMUR_CLAIMS, SPECS, AnomalyRun, CoupLapConfig, affine_icp, aupro,
                                  bone_pairs, claim_measurements, coupled_eigenmaps, coupled_laplacian,
                                  coupled_scores, coupled_sign, coupling_matrix, cosine_distance_rows, cross_edges,
                                  euclidean_all_scores, euclidean_scores, side_distances,
                                  fiedler_length, gps_scores, grassmann_distance, hist_scores, make_femur,
                                  match_eigenmaps, make_scan, maps_for,
                                  mirror_second_axis, pinned_specs, pixel_auroc, pro_curve, random_rigid, register, SideDistances, side_accuracy,
                                  run_experiment, scores_to_image, target_plan)
from cvkit.core.claims import NOT_CHECKABLE, Measurement, NotMeasured, decide
from cvkit.core.spectral import generalized_eigenmaps, knn_graph, laplacian, laplacian_eigenmaps
from scipy.spatial import cKDTree

NOTEBOOK = Path(__file__).resolve().parents[1] / "nbs" / "chapters" / "30_couplap.ipynb"


def test_coupling_keeps_duplicate_partners():
    K = coupling_matrix(3, 4, np.array([0, 1, 3]), np.array([2, 2, 0]), np.array([1.0, 0.5, 0.8]))
    assert K.shape == (3, 4) and K.nnz == 3
    assert K[2, 0] == 1.0 and K[2, 1] == 0.5 and K[0, 3] == 0.8
    with pytest.raises(ValueError, match="only one cross edge"):
        coupling_matrix(3, 4, np.array([0, 0]), np.array([1, 2]), np.array([1.0, 1.0]))


def test_cross_edges_weights_and_fraction():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 3))
    b = a + 0.01 * rng.normal(size=a.shape)
    chosen, nearest, w = cross_edges(a, b, 0.5, seed=1)
    assert len(chosen) == 25 and len(np.unique(chosen)) == 25
    assert np.all(w >= math.exp(-1) - 1e-12) and np.all(w <= 1) and np.isclose(w.min(), math.exp(-1))
    with pytest.raises(ValueError, match="cross"):
        cross_edges(a, b, 0.0)
    with pytest.raises(ValueError, match="NaN"):
        cross_edges(a, np.full((3, 3), np.nan), 0.5)


def test_coupled_laplacian_rows_sum_to_zero_and_psd():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(40, 3)), rng.normal(size=(30, 3))
    chosen, nearest, w = cross_edges(a, b, 1.0)
    K = coupling_matrix(len(a), len(b), chosen, nearest, w)
    L, D, offsets = coupled_laplacian([knn_graph(a, 5), knn_graph(b, 5)], {(0, 1): K})
    assert list(offsets) == [0, 40, 70]
    assert np.allclose(np.asarray(L.sum(axis=1)).ravel(), 0)
    assert np.linalg.eigvalsh(L.toarray()).min() > -1e-10
    # the mass matrix holds the uncoupled degrees: the cross weights are not in it
    assert np.isclose(D.diagonal().sum(), knn_graph(a, 5).sum() + knn_graph(b, 5).sum())
    with pytest.raises(ValueError, match="shape"):
        coupled_laplacian([knn_graph(a, 5), knn_graph(b, 5)], {(0, 1): K.T})


def test_identical_clouds_get_identical_rows():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(200, 3)) * [1.0, 0.6, 0.3]
    (phi_0, phi_1), chosen, (partner,) = coupled_eigenmaps([a, a.copy()], cross=1.0, maps=5)
    assert np.array_equal(partner, chosen)
    # the first four modes are symmetric: identical rows on both copies
    assert np.abs(cosine_distance_rows(phi_0[:, :4], phi_1[:, :4])).max() < 1e-6
    # the fifth is the first antisymmetric mode (opposite signs on the copies), lifted by the cross-edge energy
    assert np.allclose(phi_0[:, 4], -phi_1[:, 4], atol=1e-8) and np.all(phi_0[:, 4] > 0)


def test_sign_rule_is_decided_on_the_hub_and_breaks_ties_by_row():
    f = np.array([0.3, -0.9, 0.5])
    offsets = np.array([0, 3, 6])
    for wobble in (1 + 1e-15, 1 - 1e-15):  # which copy's |entry| is larger by rounding must not matter
        for v in (np.concatenate([f, -f * wobble]), np.concatenate([-f, f * wobble])):
            signed = coupled_sign(v[:, None], offsets)[:, 0]
            assert signed[1] == 0.9 and np.allclose(signed[3:], -signed[:3])
    tied = np.array([[0.5, -0.5, 0.1, 0.2]]).T  # two hub entries of equal magnitude: the lowest row wins
    assert coupled_sign(tied, np.array([0, 3, 4]))[0, 0] == 0.5
    assert coupled_sign(-tied, np.array([0, 3, 4]))[0, 0] == 0.5
    hub_zero = np.array([[0.0, 0.0, -0.7, 0.1]]).T  # a mode that vanishes on the hub: the next cloud decides
    assert coupled_sign(hub_zero, np.array([0, 2, 4]))[2, 0] == 0.7


def test_scores_are_permutation_equivariant():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(150, 3)) * [1.0, 0.6, 0.3]
    b = a + 0.02 * rng.normal(size=a.shape)
    perm = rng.permutation(len(b))
    (p0, p1), chosen, (partner,) = coupled_eigenmaps([b, a], cross=1.0, maps=6)
    (q0, q1), chosen_q, (partner_q,) = coupled_eigenmaps([b[perm], a], cross=1.0, maps=6)
    s, s_perm = np.zeros(len(b)), np.zeros(len(b))
    s[chosen] = cosine_distance_rows(p0[chosen], p1[partner])
    s_perm[chosen_q] = cosine_distance_rows(q0[chosen_q], q1[partner_q])
    assert np.allclose(s[perm], s_perm, atol=1e-6)


def test_aupro_hand_case():
    masks = np.zeros((1, 4, 4), bool)
    masks[0, 0, :2] = True  # region 1: two pixels
    masks[0, 3, 3] = True  # region 2: one pixel
    perfect = masks.astype(float)
    assert aupro(perfect, masks) == pytest.approx(1.0)
    # region 1 half found at the top threshold: PRO = (1/2 + 1)/2 = 0.75 at FPR 0, then 1 once everything is flagged
    half = np.zeros((1, 4, 4))
    half[0, 0, 0], half[0, 3, 3] = 1.0, 1.0
    fpr, pro = pro_curve(half, masks)
    assert fpr[0] == 0 and pro[0] == 0 and 0.75 in np.round(pro, 6) and pro[-1] == 1.0
    # linear interpolation to FPR 0.3 between (0, 0.75) and (1, 1) gives 0.825; the mean height is 0.7875
    assert aupro(half, masks) == pytest.approx(0.7875)
    assert pixel_auroc(perfect, masks) == 1.0
    with pytest.raises(ValueError, match="no anomalous region"):
        aupro(perfect, np.zeros_like(masks))


def test_grassmann_matches_scipy():
    rng = np.random.default_rng(3)
    U, V = rng.normal(size=(50, 4)), rng.normal(size=(50, 4))
    assert grassmann_distance(U, V) == pytest.approx(np.linalg.norm(np.sin(subspace_angles(U, V))))
    assert grassmann_distance(U, U @ rng.normal(size=(4, 4))) == pytest.approx(0, abs=1e-6)


def test_mirror_and_femur_chirality():
    right = make_femur("right", 600, seed=0)
    left = make_femur("left", 600, seed=0)
    assert np.array_equal(left[:, 0], -right[:, 0]) and np.array_equal(left[:, 1:], right[:, 1:])  # an exact mirror
    m = mirror_second_axis(right)
    assert np.allclose(np.sort(np.linalg.norm(m - m.mean(0), axis=1)), np.sort(np.linalg.norm(right - right.mean(0), axis=1)))
    assert 0.8 < fiedler_length(right) < 1.3
    with pytest.raises(ValueError, match="side"):
        make_femur("middle")


def test_scan_and_projection():
    scan = make_scan("bagel", 32, "bump", seed=0)
    pts, pix = scan.points()
    assert pts.shape == (scan.valid.sum(), 3) and scan.mask.any() and not (scan.mask & ~scan.valid).any()
    img = scores_to_image(np.ones(len(pix)), pix, scan.valid.shape)
    assert np.array_equal(img > 0, scan.valid)
    with pytest.raises(ValueError, match="unknown"):
        make_scan("bagle", 32)


def test_cycle_graph_spectrum():
    n = 12
    W = sp.diags([np.ones(n - 1), np.ones(n - 1)], [1, -1], format="lil")
    W[0, n - 1] = W[n - 1, 0] = 1.0
    L, D = laplacian(sp.csr_matrix(W))
    values, _ = generalized_eigenmaps(L, D, 4)  # D = 2 I: eigenvalues (2 - 2 cos(2πk/n)) / 2, each twice
    expected = np.sort(np.repeat([(1 - np.cos(2 * np.pi * k / n)) for k in (1, 2)], 2))
    assert np.allclose(values, expected, atol=1e-8)


def test_every_point_gets_a_score_at_any_cross():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(300, 3)) * [1.0, 0.6, 0.3]
    b = a + 0.01 * rng.normal(size=a.shape)
    b[:20] += [0, 0, 0.4]  # a local change
    s = coupled_scores(a, b, cross=0.25, maps=6)
    assert s.shape == (300,) and np.all(np.isfinite(s)) and np.count_nonzero(s) > 250
    assert len(np.unique(s)) <= 75  # only the 25 % cross-connected points carry their own value


def test_affine_icp_and_register_recover_an_affine_map():
    rng = np.random.default_rng(5)
    fixed = rng.normal(size=(400, 3)) * [1.0, 0.7, 0.4]
    A = np.eye(3) + 0.03 * rng.normal(size=(3, 3))
    moving = (fixed - 0.02) @ np.linalg.inv(A).T
    assert np.abs(affine_icp(moving, fixed, 30) - fixed).max() < 1e-3
    scan = make_scan("bagel", 40, "good", seed=1)
    other = make_scan("bagel", 40, "good", seed=2)
    a, b = scan.points()[0], other.points()[0]
    before = np.mean(np.linalg.norm(a - b[np.argmin(((a[:, None] - b[None]) ** 2).sum(-1), axis=1)], axis=1))
    moved = register(a, b)
    after = np.mean(np.linalg.norm(moved - b[np.argmin(((moved[:, None] - b[None]) ** 2).sum(-1), axis=1)], axis=1))
    assert after < before
    with pytest.raises(ValueError, match="NaN"):
        affine_icp(np.full((5, 3), np.nan), fixed)


def test_plan_seeds_are_distinct_and_maps_follow_the_ratio():
    cfg = CONFIGS["laptop"]
    plan = target_plan(cfg, 0) + target_plan(cfg, 1)
    assert len({seed for _, _, seed in plan}) == len(plan)
    assert len(target_plan(cfg, 0)) == len(cfg.classes) * (len(cfg.kinds) * cfg.targets_per_kind + cfg.good_targets)
    assert maps_for(2000, 0.015, 10) == 30 and maps_for(100, 0.015, 10) == 10 and maps_for(2000, 0.0015, 3) == 3


def test_bone_pairs_and_random_rigid():
    rng = np.random.default_rng(0)
    bones = [(side, np.zeros((1, 3))) for _ in range(7) for side in ("right", "left")]
    pairs = bone_pairs(bones, 6, rng)
    same = [bones[a][0] == bones[b][0] for a, b in pairs]
    used = [i for pair in pairs for i in pair]
    assert sum(same) == 3 and len(set(used)) == len(used)  # half same side; disjoint: no bone is used twice
    with pytest.raises(ValueError, match="disjoint pairs need"):
        bone_pairs(bones[:6], 6, rng)
    with pytest.raises(ValueError, match="left bones"):
        bone_pairs([("right", np.zeros((1, 3)))] * 8, 2, rng)
    cloud = make_femur("right", 500, seed=0)
    moved = random_rigid(cloud, rng, scale=0.0)
    # a proper rigid motion keeps every distance and never mirrors: the signed volume of three edges keeps its sign
    assert np.allclose(np.linalg.norm(moved[1:] - moved[0], axis=1), np.linalg.norm(cloud[1:] - cloud[0], axis=1))
    vol = lambda p: np.linalg.det(np.stack([p[1] - p[0], p[2] - p[0], p[3] - p[0]]))
    assert np.sign(vol(moved)) == np.sign(vol(cloud))


TINY = CoupLapConfig(classes=("bagel",), kinds=("bump", "hole"), targets_per_kind=2, good_targets=1, grid=32,
                     crosses=(0.5, 0.25, 1.0), min_maps=5, bones_per_side=3, bone_pairs=2, bone_points=600)


@pytest.fixture(scope="module")
def tiny_result():
    return run_experiment(TINY, 0)


def test_tiny_experiment_and_its_per_target_table(tiny_result):
    result = tiny_result
    assert set(result.table.index.get_level_values("kind")) == {"bump", "hole", "all"}
    methods = {"coupled (cross 0.5)", "coupled (cross 0.25)", "coupled (cross 1)", "euclidean", "euclidean (all points)", "gps", "hist"}
    assert set(result.table.index.get_level_values("method")) == methods
    assert result.table.to_numpy().min() >= 0 and result.table.to_numpy().max() <= 1
    per = result.per_target  # one row per (anomalous target, method); nominal targets have nothing to find
    assert set(per["method"]) == methods and set(per["kind"]) == {"bump", "hole"}
    assert len(per) == 4 * len(methods) and per[["AUPRO@30%", "pixel AUROC"]].to_numpy().min() >= 0


def test_claim_measurements_cover_exactly_the_specs(tiny_result):
    m = claim_measurements(tiny_result)
    assert list(m) == [s.id for s in SPECS]
    assert all(isinstance(v, (Measurement, NotMeasured)) for v in m.values())
    # not run by this configuration or absent here: the only roads to "not checkable"
    for key in ("coupled-vs-euclidean-combined", "paper-benchmarks", *REAL_FEMUR_CLAIMS):
        assert isinstance(m[key], NotMeasured) and m[key].reason
    # paired per defect instance: both arms on the same two bump and two hole scans
    gps = m["coupling-beats-gps"]
    assert gps.n == 4 and gps.unit == "defect instance" and set(gps.arms) == {"coupled", "gps"}
    per = tiny_result.per_target.sort_values("target")
    coupled = per[per["method"] == "coupled (cross 0.5)"]["AUPRO@30%"].to_numpy()
    assert np.allclose(gps.values, coupled - per[per["method"] == "gps"]["AUPRO@30%"].to_numpy())
    assert m["coupled-beats-euclidean-holes"].n == 2 and m["robust-to-cross-fraction"].n == 4
    assert m["bse-accurate"].n == TINY.bone_pairs and set(m["bse-accurate"].values) <= {0.0, 1.0}
    assert m["bse-accurate-ratio"].n == TINY.bone_pairs and m["bse-vs-scaled-chamfer"].n == TINY.bone_pairs
    full = per[per["method"] == "coupled (cross 1)"]["AUPRO@30%"].to_numpy()
    quarter = per[per["method"] == "coupled (cross 0.25)"]["AUPRO@30%"].to_numpy()
    assert np.allclose(m["robust-to-cross-fraction"].values, full - quarter)  # the fixed pair, not best − worst
    for spec in SPECS:  # every measurement can be decided at every scale
        for scale in spec.rules:
            decide(spec, m[spec.id], scale)


def test_identity_treatment_gives_a_zero_paired_difference(tiny_result):
    """Dropping baselines is an identity treatment for the coupled arm: its cross edges come from their own stream,
    so every per-instance value, and the paired difference with the full run, is exactly 0."""
    lean = run_experiment(dataclasses.replace(TINY, baselines=("euclidean",), bones_per_side=3, bone_pairs=2), 0)
    pick = lambda r: r.per_target[r.per_target["method"] == "coupled (cross 0.5)"].sort_values("target")
    diff = pick(lean)["AUPRO@30%"].to_numpy() - pick(tiny_result)["AUPRO@30%"].to_numpy()
    assert diff.size == 4 and np.all(diff == 0.0)


def test_specs_have_a_rule_for_every_scale_of_the_chapter():
    scales = json.loads(NOTEBOOK.read_text())["metadata"]["cvkit"]["scales"]
    assert set(scales) == set(CONFIGS)
    for spec in SPECS:
        assert set(spec.rules) == set(scales), spec.id
    assert sum(s.central for s in SPECS) == 1
    absent = {s.id: s for s in pinned_specs(femur_available=False)}
    for key in REAL_FEMUR_CLAIMS:
        assert all(rule.expected == NOT_CHECKABLE for rule in absent[key].rules.values())
    assert [s.id for s in pinned_specs(True)] == [s.id for s in SPECS]


def test_runs_with_different_seeds_share_no_target():
    for scale, cfg in CONFIGS.items():
        seeds = [[s for _, _, s in target_plan(cfg, run)] for run in (0, 1, 2)]
        assert len(set(sum(seeds, []))) == sum(map(len, seeds)), scale


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="NaN"):
        coupled_scores(np.full((50, 3), np.nan), np.zeros((50, 3)))
    with pytest.raises(ValueError, match="need at least 11"):
        coupled_eigenmaps([np.random.rand(6, 3), np.random.rand(6, 3)], maps=2, k=10)
    with pytest.raises(ValueError, match="3 coordinates"):
        coupled_scores(np.random.rand(20, 3), np.random.rand(20, 2))
    with pytest.raises(ValueError, match="cross"):
        coupled_scores(np.random.rand(30, 3), np.random.rand(30, 3), cross=1.5)


def test_paper_euclidean_baseline_scores_cross_points_normalised_by_their_maximum():
    rng = np.random.default_rng(4)
    ref = rng.normal(size=(200, 3))
    tgt = ref + 0.02 * rng.normal(size=ref.shape)
    scores = euclidean_scores(ref, tgt, cross=0.5, seed=7)
    chosen, _, _ = cross_edges(ref, tgt, 0.5, 7)
    raw = euclidean_all_scores(ref, tgt)
    assert scores.max() == 1.0 and scores.min() >= 0
    assert np.allclose(scores[chosen], raw[chosen] / raw[chosen].max())  # the cross points: distance over the maximum
    assert len(np.unique(scores)) <= len(chosen)  # the others copy a cross point's score
    # the same cross points as the coupled score (same seed, same draw)
    (_, _), chosen_c, _ = coupled_eigenmaps([tgt, ref], cross=0.5, maps=3, seed=7)
    assert np.array_equal(np.sort(chosen), np.sort(chosen_c))
    assert np.allclose(euclidean_scores(ref, tgt, cross=1.0), raw / raw.max())


def test_bse_reports_the_paper_twenty_maps_as_well():
    right, left = make_femur("right", 700, seed=1), make_femur("left", 700, seed=2)
    d = side_distances(right, left, maps=3, ends=50)
    assert all(np.isfinite(d.spectral_paper)) and all(np.isfinite(d.spectral))
    assert d.spectral != d.spectral_paper  # different numbers of eigenvectors, different distances


def test_more_bad_inputs_give_clear_errors():
    maps = np.random.rand(2, 8, 8)
    masks = np.zeros((2, 8, 8), bool)
    masks[:, 2:4, 2:4] = True
    maps[1, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        aupro(maps, masks)
    U = np.random.rand(20, 3)
    with pytest.raises(ValueError, match="zero columns"):
        grassmann_distance(U, np.c_[U[:, :2], np.zeros(20)])
    with pytest.raises(ValueError, match="same n"):
        grassmann_distance(U, np.random.rand(19, 3))
    with pytest.raises(ValueError, match="at least two clouds"):
        coupled_eigenmaps([])
    with pytest.raises(ValueError, match="at least two clouds"):
        coupled_eigenmaps([np.random.rand(30, 3)])
    with pytest.raises(ValueError, match="at least 16"):
        make_scan("bagel", 0)
    with pytest.raises(ValueError, match="the target"):
        coupled_eigenmaps([np.random.rand(5, 3), np.random.rand(30, 3)], maps=2, k=10)
    with pytest.raises(ValueError, match="reference"):
        coupled_eigenmaps([np.random.rand(30, 3), np.random.rand(5, 3)], maps=2, k=10)


def test_gps_and_hist_score_the_cross_points_like_the_official_code():
    rng = np.random.default_rng(5)
    ref = rng.normal(size=(300, 3)) * [1.0, 0.7, 0.4]
    tgt = ref + 0.01 * rng.normal(size=ref.shape)
    nearest = cKDTree(ref).query(tgt)[1]
    _, phi_r = laplacian_eigenmaps(ref, 8)
    _, phi_t = laplacian_eigenmaps(tgt, 8)
    assert np.allclose(gps_scores(ref, tgt, 8), cosine_distance_rows(phi_t, phi_r[nearest]))  # cross 1: every point
    half = gps_scores(ref, tgt, 8, cross=0.5, seed=3)
    chosen, partner, _ = cross_edges(ref, tgt, 0.5, 3)
    assert np.allclose(half[chosen], cosine_distance_rows(phi_t[chosen], phi_r[partner]))
    assert len(np.unique(half)) <= len(chosen)  # the other points copy a scored point's value
    hist = hist_scores(ref, tgt, 8, cross=0.5, seed=3)
    assert hist.shape == (300,) and len(np.unique(hist)) <= len(chosen)


def test_per_target_metric_counts_false_alarms_on_the_class_nominal_scans():
    mask = np.zeros((16, 16), bool)
    mask[4:8, 4:8] = True
    valid = np.ones((16, 16), bool)
    target_map = mask.astype(float)  # a perfect map of the defect
    quiet, loud = np.zeros((16, 16)), np.full((16, 16), 2.0)  # a nominal scan scored calmly or as all anomalous
    make = lambda good_map: AnomalyRun({"m": [target_map, good_map]}, [mask, np.zeros_like(mask)], [valid, valid],
                                       ["bump", "good"], ["bagel", "bagel"], {}).per_target()
    assert make(quiet)["AUPRO@30%"].iloc[0] == pytest.approx(1.0)
    assert make(loud)["AUPRO@30%"].iloc[0] < 0.5  # the nominal scan's false alarms count, as in a pooled class


def test_bse_chamfer_is_the_paper_one_without_rescaling():
    right = make_femur("right", 700, seed=1)
    bigger = make_femur("right", 700, seed=2) * 1.15  # the same side, 15 % larger
    d = side_distances(right, bigger, maps=3, ends=50)
    # the paper's Chamfer sees the size difference; the variant rescales it away first
    assert d.chamfer[0] > d.chamfer_scaled[0] and all(np.isfinite(d.hausdorff_scaled))


def test_new_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="finite"):
        cosine_distance_rows(np.full((3, 2), np.nan), np.ones((3, 2)))
    maps = np.random.rand(1, 8, 8)
    masks = np.zeros((1, 8, 8), bool)
    masks[0, 2:4, 2:4] = True
    for bad in (0.0, 2.0):
        with pytest.raises(ValueError, match="max_fpr"):
            aupro(maps, masks, max_fpr=bad)
    with pytest.raises(ValueError, match="transpose"):
        grassmann_distance(np.random.rand(3, 5), np.random.rand(3, 5))
    with pytest.raises(ValueError, match="same number m"):
        match_eigenmaps(np.random.rand(20, 3), np.random.rand(20, 4))
    with pytest.raises(ValueError, match="at least 10"):
        make_femur("right", 0)
    with pytest.raises(ValueError, match="ends"):
        side_distances(make_femur("right", 150, seed=0), make_femur("left", 150, seed=1))


def test_review_bad_inputs_give_clear_errors():
    d = SideDistances((1.0, 2.0), (1.0, 2.0), (1.0, 2.0))  # built by hand: the paper-count distances are NaN
    assert d.same_side("spectral")
    with pytest.raises(ValueError, match="NaN"):
        d.same_side("spectral_paper")
    with pytest.raises(ValueError, match="unknown method"):
        d.same_side("fpfh")
    with pytest.raises(ValueError, match="at least one pair"):
        side_accuracy([], [], 0.5, 0.0015, 0)
    with pytest.raises(ValueError, match=r"\(m, d\)"):
        cosine_distance_rows(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="'right' or 'left'"):
        bone_pairs([("R", np.zeros((1, 3))), ("L", np.zeros((1, 3)))], 1, np.random.default_rng(0))
