"""Hybrid functional maps: the elastic eigen-solve against the paper code's formulation (scipy's generalised
shift-invert with the mass I₃ ⊗ M), the cost of the hybrid pipeline against the LBO-only one on one crease pair,
and, when pyFM (`pyfmaps`, a dev extra) is installed, the LBO ZoomOut against pyFM's `zoomout_refine`, the reference a
user would otherwise pick (same start, same step-1 schedule; quality = share of vertices with the same match); and, when
pyFM and the research-use lion → cat files are both present, the whole LBO pipeline on lion → cat against pyFM's
(`lion_cat_vs_pyfm`: time and error, one run)."""
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh

from benchmarks.common import BenchmarkRow, fastest
from cvkit.core.chapters import shared_data_dir
from cvkit.core.spectral import geodesic_distances, lumped_mass
from cvkit.papers.hybrid_fmaps import (ShapePair, descriptor_fmaps, descriptors, elastic_basis, geodesic_errors,
                                       lion_cat_files, lion_cat_pair, make_pair, pointmap_from_fmaps, shell_hessian,
                                       spectral_shape, split_sizes, zoomout, zoomout_schedule)


def _generalised(V: np.ndarray, F: np.ndarray, k: int) -> np.ndarray:
    "The elastic eigenvalues as the paper's code computes them: eigsh(H + εI, M = I₃ ⊗ M, sigma = 0), rigid dropped."
    H = shell_hessian(V, F)
    M3 = sp.kron(sp.eye(3), lumped_mass(V, F)).tocsc()
    vals = eigsh((H + 1e-6 * sp.eye(H.shape[0])).tocsc(), k=k + 6, M=M3, sigma=0, which="LM")[0]
    return np.sort(vals)[6:]


def _pipeline(pair, x, y, dist, share: float, k_init: int, K: int) -> float:
    C = descriptor_fmaps(x, y, descriptors(x, pair.landmarks[0]), descriptors(y, pair.landmarks[1]),
                         *split_sizes(k_init, share))
    p = zoomout(pointmap_from_fmaps(*C, x, y), x, y, zoomout_schedule(k_init, K, share))
    return 100 * geodesic_errors(p, pair.gt, dist).mean()


def run(quick: bool = False) -> list[BenchmarkRow]:
    """One row for the elastic eigen-solve, one for the whole pipeline (bases + descriptor map + ZoomOut)."""
    vertices = 642 if quick else 1500
    pair = make_pair("creases", 0, subdivisions=3) if quick else make_pair("creases", 0, subdivisions=0, vertices=1500)
    V, F = pair.source
    k = 12
    ours = elastic_basis(V, F, k)[0]
    ref = _generalised(V, F, k)
    rows = [BenchmarkRow(chapter="hybrid", case=f"elastic basis {vertices}v k={k}",
                         reference="eigsh(H+εI, M=I₃⊗M, σ=0)",
                         ours_s=fastest(lambda: elastic_basis(V, F, k), 1 if not quick else 2),
                         reference_s=fastest(lambda: _generalised(V, F, k), 1 if not quick else 2),
                         quality=f"max rel |Δω| {np.max(np.abs(ours - ref) / ref):.1e}")]
    K, k_init = 40, 20
    dist = geodesic_distances(*pair.source)

    def lbo_pipeline() -> float:
        x = spectral_shape(*pair.source, k_lb=50, k_el=0)
        y = spectral_shape(*pair.target, k_lb=50, k_el=0)
        return _pipeline(pair, x, y, dist, 0.0, k_init, K)

    def hybrid_pipeline() -> float:
        k_el = split_sizes(K, 0.3)[1]
        x = spectral_shape(*pair.source, k_lb=50, k_el=k_el)
        y = spectral_shape(*pair.target, k_lb=50, k_el=k_el)
        return _pipeline(pair, x, y, dist, 0.3, k_init, K)

    e_lbo, e_hyb = lbo_pipeline(), hybrid_pipeline()
    rows.append(BenchmarkRow(chapter="hybrid", case=f"pipeline {vertices}v K={K}", reference="LBO-only pipeline (ours)",
                             ours_s=fastest(hybrid_pipeline, 1), reference_s=fastest(lbo_pipeline, 1),
                             quality=f"error ×100: hybrid {e_hyb:.2f} vs LBO {e_lbo:.2f}"))
    try:
        from pyFM.refine.zoomout import zoomout_refine
        from pyFM.spectral.convert import p2p_to_FM
    except ImportError:
        return rows
    x = spectral_shape(*pair.source, k_lb=50, k_el=0)
    y = spectral_shape(*pair.target, k_lb=50, k_el=0)
    p0 = pointmap_from_fmaps(*descriptor_fmaps(x, y, descriptors(x, pair.landmarks[0]),
                                               descriptors(y, pair.landmarks[1]), k_init, 0), x, y)

    def ours_zoomout() -> np.ndarray:
        return zoomout(p0, x, y, zoomout_schedule(k_init, K, 0.0))

    def pyfm_zoomout() -> np.ndarray:
        C0 = p2p_to_FM(p0, x.phi[:, :k_init], y.phi[:, :k_init], A2=y.M)
        return zoomout_refine(C0, x.phi, y.phi, nit=K - k_init, step=1, A2=y.M, return_p2p=True, n_jobs=1)[1]

    same = float(np.mean(ours_zoomout() == pyfm_zoomout()))
    rows.append(BenchmarkRow(chapter="hybrid", case=f"LBO ZoomOut {vertices}v {k_init}→{K}", reference="pyFM zoomout_refine",
                             ours_s=fastest(ours_zoomout, 2), reference_s=fastest(pyfm_zoomout, 2),
                             quality=f"same match {100 * same:.1f}%"))
    files = lion_cat_files(shared_data_dir())
    if not quick and files is not None:
        rows.append(lion_cat_vs_pyfm(lion_cat_pair(files))[0])
    return rows


def _ours_lbo_pipeline(pair: ShapePair, k_init: int, K: int) -> np.ndarray:
    "Our LBO-only axiomatic pipeline from the meshes: bases, WKS + landmark WKS, descriptor map, step-1 ZoomOut (n_y,)."
    x = spectral_shape(*pair.source, k_lb=max(K, 50), k_el=0)
    y = spectral_shape(*pair.target, k_lb=max(K, 50), k_el=0)
    p0 = pointmap_from_fmaps(*descriptor_fmaps(x, y, descriptors(x, pair.landmarks[0]),
                                               descriptors(y, pair.landmarks[1]), k_init, 0), x, y)
    return zoomout(p0, x, y, zoomout_schedule(k_init, K, 0.0))


def _pyfm_pipeline(pair: ShapePair, k_init: int, K: int) -> np.ndarray:
    """pyFM's quickstart pipeline from the same (unit-area) arrays: its LBO (k_process = K), WKS with the landmark pairs,
    `fit` with the quickstart's weights (descriptors 1, Laplacian 0.1, descriptor commutativity 1, orientation 1) at
    size k_init, then its step-1 ZoomOut to K (n_y,)."""
    from pyFM.functional import FunctionalMapping
    from pyFM.mesh import TriMesh

    model = FunctionalMapping(TriMesh(*pair.source), TriMesh(*pair.target))
    landmarks = np.stack(pair.landmarks, axis=1)  # (L, 2): source (mesh1) vertex, target (mesh2) vertex
    model.preprocess(descr_type="WKS", landmarks=landmarks, subsample_step=2, k_process=K, k_descr=K)
    model.fit(K=k_init, w_descr=1e0, w_lap=1e-1, w_dcomm=1e0, w_orient=1e0)
    return model.get_p2p(model.zoomout_refine(nit=K - k_init, step=1))


def lion_cat_vs_pyfm(
    pair: ShapePair,  # the lion → cat pair (`lion_cat_pair`): source cat, target lion, approximate ground truth
    *,
    k_init: int = 20,  # size of both descriptor maps
    K: int = 50,  # size after both ZoomOuts (the chapter's lion → cat K)
) -> tuple[BenchmarkRow, dict[str, float]]:
    """One run of each whole LBO pipeline (meshes → pointmap, wall-clock) on lion → cat, scored alike: mean geodesic error
    ×100 on the unit-area cat over the lion vertices with ground truth (the landmark vertices excluded, as in the
    chapter). Returns the row and the numbers (seconds, errors, ratios ours / pyFM)."""
    if not 0 < k_init <= K:
        raise ValueError(f"need 0 < k_init ≤ K, got k_init={k_init}, K={K}")
    ok = pair.gt >= 0
    rows_used = np.unique(pair.gt[ok])
    dist = geodesic_distances(*pair.source, sources=rows_used)  # (r, n_x): only the cat vertices the ground truth uses
    row_of = np.full(len(pair.source[0]), -1)
    row_of[rows_used] = np.arange(len(rows_used))
    out: dict[str, float] = {}
    for name, pipeline in (("ours", _ours_lbo_pipeline), ("pyfm", _pyfm_pipeline)):
        start = time.perf_counter()
        p = pipeline(pair, k_init, K)
        out[f"{name}_s"] = time.perf_counter() - start
        out[f"{name}_error"] = float(100 * dist[row_of[pair.gt[ok]], p[ok]].mean())
    out["time_ratio"] = out["ours_s"] / out["pyfm_s"]
    out["error_ratio"] = out["ours_error"] / out["pyfm_error"] if out["pyfm_error"] > 0 else float("nan")  # 0/0 undefined
    row = BenchmarkRow(chapter="hybrid", case=f"lion→cat LBO pipeline {k_init}→{K}", reference="pyFM quickstart pipeline",
                       ours_s=out["ours_s"], reference_s=out["pyfm_s"],
                       quality=f"error ×100: ours {out['ours_error']:.3f} vs pyFM {out['pyfm_error']:.3f} "
                               f"(ratio {out['error_ratio']:.3f})")
    return row, out
