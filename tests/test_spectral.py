"""cvkit.core.spectral: graphs, Laplacians, the generalised eigensolver, mesh I/O, surface sampling, ICP."""
import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from scipy.spatial.distance import cdist
from scipy.spatial.transform import Rotation

from cvkit.core.spectral import (MeshFormatError, check_points, deterministic_sign, gaussian_weights,
                                 generalized_eigenmaps, icp, kabsch, knn_distance_graph, knn_graph, laplacian,
                                 laplacian_eigenmaps, read_mesh, sample_surface, triangle_areas)
from conftest import ROOT


def elongated_cloud(n=300, seed=0):
    """A noisy box with distinct side lengths: its low eigenvalues are well separated (no degenerate pairs)."""
    return np.random.default_rng(seed).random((n, 3)) * [4.0, 1.5, 0.5]


def path_graph(n):
    return sp.diags([np.ones(n - 1), np.ones(n - 1)], [-1, 1], format="csr")


def test_check_points_errors():
    with pytest.raises(ValueError, match=r"shape \(N, d\)"):
        check_points(np.zeros(3))
    with pytest.raises(ValueError, match="3 coordinates"):
        check_points(np.zeros((4, 2)), dim=3)
    with pytest.raises(ValueError, match="need at least 11"):
        check_points(np.zeros((5, 3)), min_points=11)
    with pytest.raises(ValueError, match="NaN"):
        check_points(np.array([[0.0, np.inf, 0.0]]))


def test_knn_graph_is_the_symmetric_union_with_true_lengths():
    pts = elongated_cloud(80)
    G = knn_distance_graph(pts, k=5).toarray()
    full = cdist(pts, pts)
    order = np.argsort(full, axis=1)[:, 1:6]
    directed = np.zeros_like(full, dtype=bool)
    directed[np.repeat(np.arange(80), 5), order.ravel()] = True
    union = directed | directed.T
    assert np.array_equal(G > 0, union)
    assert np.allclose(G[union], full[union])  # one-sided edges are not halved
    W = knn_graph(pts, k=5)
    d2 = G[union] ** 2
    assert np.allclose(W.toarray()[union], np.exp(-d2 / d2.max()))


def test_knn_graph_bad_input():
    with pytest.raises(ValueError, match="need at least 11"):
        knn_graph(np.random.default_rng(0).random((10, 3)), k=10)
    with pytest.raises(ValueError, match="NaN"):
        knn_graph(np.full((20, 3), np.nan), k=3)
    with pytest.raises(ValueError, match="no edges"):
        gaussian_weights(sp.csr_matrix((3, 3)))
    with pytest.raises(ValueError, match="coincide"):
        knn_graph(np.zeros((12, 3)), k=3)


def test_laplacian_properties_and_errors():
    L, D = laplacian(knn_graph(elongated_cloud(), k=8))
    assert np.allclose(L.sum(axis=1), 0)
    assert np.linalg.eigvalsh(L.toarray()).min() > -1e-10
    assert np.allclose(D.diagonal(), L.diagonal())
    with pytest.raises(ValueError, match="square"):
        laplacian(sp.csr_matrix(np.ones((2, 3))))
    with pytest.raises(ValueError, match="non-negative"):
        laplacian(sp.csr_matrix(-np.ones((2, 2))))
    with pytest.raises(ValueError, match="symmetric"):
        laplacian(sp.csr_matrix(np.array([[0, 1.0], [0, 0]])))


def test_path_graph_spectrum():
    n = 30
    L, D = laplacian(path_graph(n))
    assert np.allclose(np.linalg.eigvalsh(L.toarray()), 2 - 2 * np.cos(np.pi * np.arange(n) / n))
    vals, vecs = generalized_eigenmaps(L, D, 5)
    dense = scipy.linalg.eigh(L.toarray(), D.toarray(), eigvals_only=True)
    assert np.allclose(vals, dense[1:6], atol=1e-9)
    fiedler = vecs[:, 0]
    assert np.all(np.diff(fiedler) > 0) or np.all(np.diff(fiedler) < 0)  # monotone along the path


def test_eigenmaps_match_dense_solver_and_are_d_orthonormal():
    L, D = laplacian(knn_graph(elongated_cloud(), k=10))
    vals, vecs = generalized_eigenmaps(L, D, 6)
    dvals, dvecs = scipy.linalg.eigh(L.toarray(), D.toarray())
    assert np.allclose(vals, dvals[1:7], atol=1e-8)
    assert np.allclose(vecs, deterministic_sign(dvecs[:, 1:7]), atol=1e-6)
    assert np.allclose(vecs.T @ D @ vecs, np.eye(6), atol=1e-8)


def test_eigenmaps_agree_with_sklearn_spectral_embedding():
    from sklearn.manifold import spectral_embedding

    W = knn_graph(elongated_cloud(seed=3), k=10)
    L, D = laplacian(W)
    _, ours = generalized_eigenmaps(L, D, 4)
    ref = spectral_embedding(W, n_components=4, norm_laplacian=True, drop_first=True, random_state=0)
    for j in range(4):
        assert abs(np.corrcoef(ours[:, j], ref[:, j])[0, 1]) > 0.999


def test_sign_convention_is_deterministic():
    v = np.array([[0.1, -3.0], [-2.0, 1.0]])
    assert np.array_equal(deterministic_sign(v), [[-0.1, 3.0], [2.0, -1.0]])
    assert np.array_equal(deterministic_sign(-v), deterministic_sign(v))
    pts = elongated_cloud()
    assert np.array_equal(laplacian_eigenmaps(pts, 5)[1], laplacian_eigenmaps(pts, 5)[1])


def test_permutation_equivariance():
    pts = elongated_cloud(seed=5)
    perm = np.random.default_rng(1).permutation(len(pts))
    vals, emb = laplacian_eigenmaps(pts, 4)
    pvals, pemb = laplacian_eigenmaps(pts[perm], 4)
    assert np.allclose(vals, pvals) and np.allclose(emb[perm], pemb, atol=1e-6)


def test_eigen_bad_requests():
    L, D = laplacian(path_graph(5))
    with pytest.raises(ValueError, match="fewer than the number of points"):
        generalized_eigenmaps(L, D, 5)
    with pytest.raises(ValueError, match="at least 1"):
        generalized_eigenmaps(L, D, 0)
    with pytest.raises(ValueError, match="same shape"):
        generalized_eigenmaps(L, sp.eye(4), 1)


# ---- mesh I/O -----------------------------------------------------------------------------------------------------
QUAD_V = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0.5, 0.5, 1]], dtype=float)
QUAD_TRIS = np.array([[0, 1, 2], [0, 2, 3], [0, 1, 4], [1, 2, 4]])


def write_ply_binary(path, vertices, polygons, order="<"):
    header = ("ply\nformat {} 1.0\ncomment test\nelement vertex {}\nproperty float x\nproperty float y\nproperty float z\n"
              "property uchar red\nelement face {}\nproperty list uchar int vertex_indices\nend_header\n").format(
        "binary_little_endian" if order == "<" else "binary_big_endian", len(vertices), len(polygons))
    vdt = np.dtype([("x", order + "f4"), ("y", order + "f4"), ("z", order + "f4"), ("red", "u1")])
    vrec = np.zeros(len(vertices), dtype=vdt)
    vrec["x"], vrec["y"], vrec["z"] = vertices.T
    body = vrec.tobytes() + b"".join(np.uint8(len(p)).tobytes() + np.asarray(p, dtype=order + "i4").tobytes() for p in polygons)
    path.write_bytes(header.encode() + body)


def test_read_all_formats_with_polygons(tmp_path):
    polys = [[0, 1, 2, 3], [0, 1, 4], [1, 2, 4]]
    (tmp_path / "m.off").write_text("OFF 5 3 0\n# comment\n" + "".join(f"{x} {y} {z}\n" for x, y, z in QUAD_V)
                                    + "".join(f"{len(p)} " + " ".join(map(str, p)) + "\n" for p in polys))
    (tmp_path / "m.obj").write_text("o thing\n" + "".join(f"v {x} {y} {z}\n" for x, y, z in QUAD_V)
                                    + "vn 0 0 1\nf 1//1 2//1 3//1 4//1\nf -5 -4 -1\nf 2/1/1 3/1/1 5/1/1\n")
    (tmp_path / "m.ply").write_text("ply\nformat ascii 1.0\nelement vertex 5\nproperty double x\nproperty double y\n"
                                    "property double z\nelement face 3\nproperty list uchar int vertex_index\nend_header\n"
                                    + "".join(f"{x} {y} {z}\n" for x, y, z in QUAD_V)
                                    + "".join(f"{len(p)} " + " ".join(map(str, p)) + "\n" for p in polys))
    write_ply_binary(tmp_path / "le.ply", QUAD_V, polys, "<")
    write_ply_binary(tmp_path / "be.ply", QUAD_V, polys, ">")
    for name in ("m.off", "m.obj", "m.ply", "le.ply", "be.ply"):
        v, f = read_mesh(tmp_path / name)
        assert np.allclose(v, QUAD_V) and np.array_equal(f, QUAD_TRIS), name


def test_ply_point_cloud_without_faces(tmp_path):
    (tmp_path / "c.ply").write_text("ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
                                    "property float z\nend_header\n1 2 3\n4 5 6\n")
    v, f = read_mesh(tmp_path / "c.ply")
    assert v.shape == (2, 3) and f.shape == (0, 3)


@pytest.mark.parametrize("name,content,message", [
    ("a.off", "NOFF?\n", "not an OFF file"),
    ("b.off", "OFF\n3 1 0\n0 0 0\n1 0 0\n", "header promises 3 vertices"),
    ("c.off", "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n", "refers to vertex 7"),
    ("d.off", "OFF\n1 0 0\nx y z\n", "malformed OFF"),
    ("e.obj", "# nothing\n", "no vertices"),
    ("f.obj", "v 0 0 zero\n", "malformed OBJ"),
    ("g.ply", "not a ply\n", "not a PLY file"),
    ("h.ply", "ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\nend_header\n1 2\n",
     "malformed PLY"),
    ("i.stl", "solid x\n", "unknown mesh format"),
    ("j.off", "OFF\n1 0 0\nnan 0 0\n", "NaN"),
])
def test_unparsable_meshes_give_clear_errors(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(MeshFormatError, match=message):
        read_mesh(tmp_path / name)


def test_missing_mesh(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        read_mesh(tmp_path / "none.off")


def test_real_femur():
    from cvkit.core.data import find_file

    path = find_file("cgal-meshes", "data/meshes/femur.off") or ROOT / "missing"  # `cvkit data install cgal-meshes`
    if not path.exists():
        pytest.skip("the real femur sample is not present")
    v, f = read_mesh(path)
    assert v.shape == (3897, 3) and f.shape == (7798, 3)
    assert triangle_areas(v, f).min() >= 0


# ---- sampling and registration ------------------------------------------------------------------------------------
def test_sample_surface_is_on_the_surface_area_weighted_and_seeded():
    v = np.array([[0, 0, 0], [2, 0, 0], [0, 1, 0], [0, 0, 5], [2, 0, 5]], dtype=float)
    f = np.array([[0, 1, 2], [0, 1, 3], [1, 4, 3]])  # areas 1, 5, 5
    pts = sample_surface(v, f, 20000, seed=0)
    assert np.array_equal(pts, sample_surface(v, f, 20000, seed=0))
    in_floor = np.isclose(pts[:, 2], 0) & (pts[:, 0] / 2 + pts[:, 1] <= 1 + 1e-9)
    assert abs(in_floor.mean() - 1 / 11) < 0.01
    assert np.all(np.isclose(pts[:, 2], 0) | np.isclose(pts[:, 1], 0))
    with pytest.raises(ValueError, match="non-empty"):
        sample_surface(v, np.zeros((0, 3), dtype=int), 5)
    with pytest.raises(ValueError, match="zero surface area"):
        sample_surface(np.zeros((3, 3)), np.array([[0, 1, 2]]), 5)


def test_kabsch_exact_and_never_reflects():
    rng = np.random.default_rng(0)
    p = rng.normal(size=(50, 3))
    R_true = Rotation.from_rotvec([0.3, -0.2, 0.9]).as_matrix()
    R, t = kabsch(p, p @ R_true.T + [1, 2, 3])
    assert np.allclose(R, R_true) and np.allclose(t, [1, 2, 3])
    R_m, _ = kabsch(p, p * [-1, 1, 1])  # a mirror image cannot be reached by a rotation
    assert np.isclose(np.linalg.det(R_m), 1.0)
    with pytest.raises(ValueError, match="correspond"):
        kabsch(p, p[:10])


def test_icp_recovers_a_small_motion():
    rng = np.random.default_rng(2)
    target = rng.random((800, 3)) * [3, 2, 1]
    R_true = Rotation.from_rotvec([0.05, -0.08, 0.1]).as_matrix()
    source = (target - [0.04, 0.02, -0.03]) @ R_true
    R, t, rms = icp(source, target, iterations=60)
    assert rms < 1e-6 and np.allclose(source @ R.T + t, target, atol=1e-5)
    with pytest.raises(ValueError, match="NaN"):
        icp(np.full((5, 3), np.nan), target)


# ---- triangle meshes (hybrid functional maps) ----
from cvkit.core.spectral import (check_mesh, cotangent_laplacian, fibonacci_sphere, geodesic_distances, hks,
                                 icosphere, largest_component, lbo_basis, lumped_mass, mesh_components, mesh_edges,
                                 remove_duplicate_faces, submesh, unit_area, vertex_normals, wks)

SQUARE_V = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=float)
SQUARE_F = np.array([[0, 1, 2], [0, 2, 3]])


def flat_grid(m=7, shear=0.05):
    gx, gy = np.meshgrid(np.linspace(0, 1, m), np.linspace(0, 1, m))
    V = np.c_[gx.ravel() + shear * np.sin(7 * gy.ravel()), gy.ravel(), np.zeros(m * m)]
    F = [[r * m + c, r * m + c + 1, (r + 1) * m + c + 1] for r in range(m - 1) for c in range(m - 1)]
    F += [[r * m + c, (r + 1) * m + c + 1, (r + 1) * m + c] for r in range(m - 1) for c in range(m - 1)]
    return V, np.array(F)


def test_cotangent_weights_two_triangle_square():
    L = cotangent_laplacian(SQUARE_V, SQUARE_F).toarray()
    # the diagonal 0-2 is opposite two right angles (cot 0); each side is opposite one 45° angle (cot 1) -> weight 1/2
    expected = np.array([[1, -0.5, 0, -0.5], [-0.5, 1, -0.5, 0], [0, -0.5, 1, -0.5], [-0.5, 0, -0.5, 1]])
    assert np.allclose(L, expected)


def test_cotangent_laplacian_properties_and_linear_precision():
    V, F = flat_grid()
    L = cotangent_laplacian(V, F)
    assert abs(L - L.T).max() < 1e-12 and np.allclose(L @ np.ones(len(V)), 0)
    interior = [r * 7 + c for r in range(1, 6) for c in range(1, 6)]
    for f in (V[:, 0], V[:, 1], 3 * V[:, 0] - V[:, 1] + 2):
        assert np.abs((L @ f)[interior]).max() < 1e-12
    x = np.random.default_rng(0).normal(size=len(V))
    assert x @ (L @ x) >= 0


def test_lumped_mass_sums_to_area_and_is_positive():
    for V, F in (flat_grid(), icosphere(2), (SQUARE_V, SQUARE_F)):
        m = lumped_mass(V, F).diagonal()
        assert np.isclose(m.sum(), triangle_areas(V, F).sum()) and m.min() > 0
    # an obtuse triangle: the obtuse corner gets half the area, the others a quarter
    V = np.array([[0, 0, 0], [2, 0, 0], [1, 0.2, 0]], dtype=float)
    m = lumped_mass(V, np.array([[0, 1, 2]])).diagonal()
    assert np.allclose(m, [0.05, 0.05, 0.1])


def test_lbo_basis_on_the_sphere():
    V, F = icosphere(3)
    evals, evecs, M = lbo_basis(V, F, 16)
    assert evals[0] == pytest.approx(0, abs=1e-8) and np.allclose(evecs[:, 0], evecs[0, 0])
    assert np.allclose(evals[1:4], 2, atol=0.02) and np.allclose(evals[4:9], 6, atol=0.1)
    assert np.allclose(evals[9:16], 12, atol=0.4)
    assert np.allclose(evecs.T @ (M @ evecs), np.eye(16), atol=1e-8)
    with pytest.raises(ValueError, match="k must be in"):
        lbo_basis(V, F, len(V))


def test_lbo_agrees_with_robust_laplacian_when_installed():
    rl = pytest.importorskip("robust_laplacian")
    V, F = icosphere(2)
    L_ref, M_ref = rl.mesh_laplacian(V, F)
    assert abs(cotangent_laplacian(V, F) - L_ref).max() < 1e-8
    assert np.isclose(lumped_mass(V, F).diagonal().sum(), M_ref.diagonal().sum())


def test_icosphere_and_fibonacci_sphere():
    for s in range(4):
        V, F = icosphere(s)
        assert len(V) == 10 * 4**s + 2 and len(F) == 20 * 4**s and mesh_components(len(V), F) == 1
        assert len(mesh_edges(F)) == 3 * len(F) // 2  # a closed surface: every edge in two faces
        assert np.allclose(np.linalg.norm(V, axis=1), 1)
        assert np.all(np.einsum("ij,ij->i", vertex_normals(V, F), V) > 0.98)
    V, F = fibonacci_sphere(300)
    assert len(F) == 2 * 300 - 4 and np.all(np.einsum("ij,ij->i", vertex_normals(V, F), V) > 0.98)
    with pytest.raises(ValueError, match="subdivisions"):
        icosphere(9)
    with pytest.raises(ValueError, match="at least 12"):
        fibonacci_sphere(5)


def test_unit_area_and_normals():
    V, F = icosphere(2)
    U = unit_area(3 * V + 5, F)
    assert np.isclose(triangle_areas(U, F).sum(), 1) and np.allclose(U.mean(0), 0, atol=1e-12)
    N = vertex_normals(SQUARE_V, SQUARE_F)
    assert np.allclose(N, [0, 0, 1])


def test_mesh_checks_and_repairs():
    with pytest.raises(ValueError, match="NaN"):
        check_mesh(np.array([[0, 0, np.nan], [1, 0, 0], [0, 1, 0]]), [[0, 1, 2]])
    with pytest.raises(ValueError, match="zero-area"):
        check_mesh(np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0]], dtype=float), np.array([[0, 1, 2]]))
    with pytest.raises(ValueError, match="face indices"):
        check_mesh(SQUARE_V, np.array([[0, 1, 7]]))
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        check_mesh(np.zeros((4, 2)), SQUARE_F)
    two = np.vstack([SQUARE_V, SQUARE_V + 5])
    faces = np.vstack([SQUARE_F, SQUARE_F + 4])
    with pytest.raises(ValueError, match="2 connected components"):
        check_mesh(two, faces)
    V, F, keep = largest_component(two, np.vstack([[[0, 1, 2]], SQUARE_F + 4]))  # pieces of 3 and 4 vertices
    assert len(V) == 4 and keep.tolist() == [4, 5, 6, 7] and F.max() == 3
    dup = np.array([[0, 1, 2], [2, 0, 1], [0, 2, 3], [3, 2, 0]])
    assert remove_duplicate_faces(dup).tolist() == [[0, 1, 2], [0, 2, 3]]
    Vs, Fs, k = submesh(SQUARE_V, SQUARE_F, np.array([True, True, True, False]))
    assert Fs.tolist() == [[0, 1, 2]] and k.tolist() == [0, 1, 2]


def test_wks_and_hks():
    V, F = icosphere(3)
    evals, evecs, _ = lbo_basis(V, F, 25)  # complete bands l = 0..4: sum of phi^2 per band is constant
    W = wks(evals, evecs, 20)
    assert W.shape == (len(V), 20) and np.all(W > 0)
    # the sphere is homogeneous: every vertex has (nearly) the same signature; sign flips change nothing
    assert W.std(0).max() / W.mean(0).min() < 0.05
    assert np.allclose(wks(evals, -evecs, 20), W)
    LW = wks(evals, evecs, 10, landmarks=np.array([0, 5]))
    assert LW.shape == (len(V), 20)
    H = hks(evals, evecs, np.array([0.01, 0.1]))
    assert np.all(H[:, 0] > H[:, 1])
    with pytest.raises(ValueError, match="evecs must be"):
        wks(evals, evecs[:, :5], 10)


def test_geodesic_distances():
    V, F = icosphere(3)
    D = geodesic_distances(V, F, [0, 1])
    assert D.shape == (2, len(V)) and D[0, 0] == 0
    arc = np.arccos(np.clip(V @ V[0], -1, 1))
    chord = np.linalg.norm(V - V[0], axis=1)
    assert np.all(D[0] >= chord - 1e-9) and np.all(D[0] <= 1.25 * arc + 1e-9)  # above the chord, within 25 % of the arc
    with pytest.raises(ValueError, match="sources"):
        geodesic_distances(V, F, [len(V)])
    with pytest.raises(ValueError, match="method"):
        geodesic_distances(V, F, [0], method="fast")
