"""Hybrid functional maps: the elastic eigen-solve against the paper code's formulation (scipy's generalised
shift-invert with the mass I₃ ⊗ M), the cost of the hybrid pipeline against the LBO-only one on one crease pair,
and, when pyFM (`pyfmaps`, a dev extra) is installed, the LBO ZoomOut against pyFM's `zoomout_refine`, the reference a
user would otherwise pick (same start, same step-1 schedule; quality = share of vertices with the same match)."""
import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh

from benchmarks.common import BenchmarkRow, fastest
from cvkit.core.spectral import geodesic_distances, lumped_mass
from cvkit.papers.hybrid_fmaps import (descriptor_fmaps, descriptors, elastic_basis, geodesic_errors, make_pair,
                                       pointmap_from_fmaps, shell_hessian, spectral_shape, split_sizes, zoomout,
                                       zoomout_schedule)


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
    return rows
