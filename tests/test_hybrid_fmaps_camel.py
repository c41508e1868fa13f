"""cvkit.papers.hybrid_fmaps, the label-free camel section: cycle composition and coverage by hand, the unlabelled
pipeline on a pair whose answer is known, the hinge-bent copy's exact ground truth, the file lookup, and bad input."""
import itertools

import numpy as np
import pytest

from cvkit.core.claims import numpy_stream
from cvkit.core.spectral import geodesic_distances, icosphere, unit_area
from cvkit.papers.hybrid_fmaps import (CAMEL_POSES, CONFIGS, camel_files, coverage, cycle_pointmap, descriptors,
                                       hinge_bent_pair, make_pair, match_pair, match_unlabelled, nearest_rows,
                                       read_real_mesh, spectral_shape)


def test_cycle_pointmap_composes_in_transport_order():
    # three shapes with 3, 2 and 4 vertices; maps[j] goes from shape j+1 to shape j
    m0 = np.array([2, 0])  # shape 1 (2 vertices) → shape 0 (3 vertices)
    m1 = np.array([1, 1, 0, 1])  # shape 2 (4 vertices) → shape 1
    m2 = np.array([3, 0, 2])  # shape 0 (3 vertices) → shape 2; by hand: m1[m2] = [1, 1, 0], m0[[1, 1, 0]] = [0, 0, 2]
    f0 = np.array([10.0, 20.0, 30.0])  # a function on shape 0, carried round: f1 = f0[m0], f2 = f1[m1], back = f2[m2]
    back = f0[m0][m1][m2]
    c = cycle_pointmap([m0, m1, m2])
    assert np.array_equal(f0[c], back) and np.array_equal(c, [0, 0, 2])
    ident = [np.arange(5)] * 4
    assert np.array_equal(cycle_pointmap(ident), np.arange(5))  # consistent maps bring every vertex home


def test_cycle_pointmap_and_coverage_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        cycle_pointmap([])
    with pytest.raises(ValueError, match=r"maps\[1\]"):
        cycle_pointmap([np.array([0, 1]), np.array([0, 5]), np.array([0, 1])])  # 5 is not a vertex of shape 1
    with pytest.raises(ValueError, match=r"maps\[0\]"):
        cycle_pointmap([np.array([0.0, 1.0]), np.array([0, 1])])  # not integer
    assert coverage(np.array([0, 0, 2]), 4) == 0.5 and coverage(np.arange(4)[::-1], 4) == 1.0
    with pytest.raises(ValueError, match="pointmap"):
        coverage(np.array([0, 4]), 4)


def test_descriptors_without_landmarks_are_the_wks_alone():
    pair = make_pair("near-isometric", 3, subdivisions=2)
    x = spectral_shape(*pair.source, k_lb=20, k_el=0)
    none = descriptors(x, np.zeros(0, dtype=np.int64))
    some = descriptors(x, pair.landmarks[0])
    assert none.shape == (x.n, 50) and np.allclose(none, some[:, :50])  # the landmark columns follow the WKS block


def test_match_unlabelled_recovers_a_shuffled_copy():
    V, F = icosphere(2)
    V = unit_area(V * [1.0, 1.4, 0.7], F)  # an ellipsoid: few symmetries beyond the three mirror planes
    perm = np.random.default_rng(0).permutation(len(V))
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(len(perm))
    x = spectral_shape(V, F, k_lb=30, k_el=6)
    y = spectral_shape(V[perm], inverse[F], k_lb=30, k_el=6)
    D = geodesic_distances(V, F)
    for share in (0.0, 0.3):
        p = match_unlabelled(x, y, k_init=10, K=20, share=share)
        assert p.shape == (len(V),) and p.min() >= 0 and p.max() < len(V)
        # the ellipsoid's mirror images are equally good matches for WKS: score the map against the true one and its
        # seven mirror images (sign flips of the axes) and keep the best; a random map scores about 0.46 here
        mirrors = [nearest_rows(V, V[perm] * np.array(s)) for s in itertools.product((1, -1), repeat=3)]
        assert min(D[p, q].mean() for q in mirrors) < 0.01
    with pytest.raises(ValueError, match="k_init"):
        match_unlabelled(x, y, k_init=30, K=20, share=0.0)


def test_hinge_bent_pair_has_exact_ground_truth():
    V, F = icosphere(2)
    V = unit_area(V * [2.0, 1.0, 0.6], F)
    pair = hinge_bent_pair(V, F, numpy_stream(0, "t"), family="bent", angle_deg=45.0)
    Vy, Fy = pair.target
    assert pair.source[0] is V and len(Vy) == len(V) and np.degrees(pair.angle) == pytest.approx(45.0)
    # the target's faces are the source's, relabelled by the shuffle: edge lengths on the hinge's far side are kept
    assert np.array_equal(np.sort(pair.gt), np.arange(len(V)))
    assert np.array_equal(pair.gt[Fy], F)  # target face → source face, vertex by vertex
    src, tgt = pair.landmarks
    assert np.array_equal(pair.gt[tgt], src)
    table, maps = match_pair(pair, k_init=10, sizes=(20,), arms={"lbo": 0.0, "hybrid": 0.3})
    assert set(table.arm) == {"lbo", "hybrid"} and np.all(table.error >= 0)
    with pytest.raises(ValueError, match="sharpness"):
        hinge_bent_pair(V, F, numpy_stream(0, "t"), family="bent", sharpness=0.0)


def test_camel_files_needs_all_four(tmp_path):
    assert camel_files(None) is None and camel_files(tmp_path) is None
    d = tmp_path / "meshes" / "camel_gallop"
    d.mkdir(parents=True)
    V, F = icosphere(1)
    text = "OFF\n" + f"{len(V)} {len(F)} 0\n" + "".join(f"{a} {b} {c}\n" for a, b, c in V) + "".join(
        f"3 {a} {b} {c}\n" for a, b, c in np.vstack([F, F[:1]]))  # one duplicate face, as in the camel files
    for pose in CAMEL_POSES[:3]:
        (d / f"camel-gallop-{pose}.off").write_text(text)
    assert camel_files(tmp_path) is None
    (d / f"camel-gallop-{CAMEL_POSES[3]}.off").write_text(text)
    files = camel_files(tmp_path)
    assert [p.name for p in files] == [f"camel-gallop-{p}.off" for p in ("01", "04", "07", "10")]
    v, f = read_real_mesh(files[0])
    assert len(f) == len(F)  # the duplicate face is gone
    area = 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1).sum()
    assert area == pytest.approx(1.0)


def test_camel_k_by_scale():
    assert CONFIGS["smoke"].camel_k == 0  # the issue: no real meshes at smoke
    assert CONFIGS["laptop"].camel_k == 0  # laptop: reports/laptop/hybrid_fmaps-camel/camel.py (CPU budget)
    assert CONFIGS["gpu"].camel_k == 50
