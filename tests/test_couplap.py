import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.linalg import subspace_angles

from cvkit.papers.couplap import (aupro, coupled_eigenmaps, coupled_laplacian, coupling_matrix, cosine_distance_rows,
                                  cross_edges, fiedler_length, grassmann_distance, make_femur, make_scan,
                                  mirror_second_axis, pixel_auroc, pro_curve, scores_to_image)
from cvkit.core.spectral import knn_graph


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
