"""The coupled Laplacian: one coupled eigen-solve of two clouds against sklearn's spectral_embedding of the same joint
graph, and how the solve time grows from 1k to 16k points per cloud."""
import numpy as np
from sklearn.manifold import spectral_embedding

from benchmarks.common import BenchmarkRow, fastest
from cvkit.core.spectral import generalized_eigenmaps, knn_graph
from cvkit.papers.couplap import coupled_laplacian, coupling_matrix, cross_edges, make_femur


def run(quick: bool = False) -> list[BenchmarkRow]:
    """Per size: time of our generalised solve (uncoupled degrees as mass) and of spectral_embedding on W_c."""
    sizes = (1000,) if quick else (1000, 4000, 16000)
    maps = 30
    rows = []
    for n in sizes:
        rng = np.random.default_rng(n)
        a = make_femur("right", n, seed=0)
        b = a + 0.002 * rng.normal(size=a.shape)
        chosen, nearest, weights = cross_edges(a, b, 0.5, seed=0)
        K = coupling_matrix(n, n, chosen, nearest, weights)
        W_a, W_b = knn_graph(a, 10), knn_graph(b, 10)
        L_c, D, _ = coupled_laplacian([W_a, W_b], {(0, 1): K})
        W_c = (D - L_c).tocsr()  # off the diagonal, D − L_c is the joint adjacency, cross edges included
        W_c.setdiag(0)
        W_c.eliminate_zeros()
        ours = generalized_eigenmaps(L_c, D, maps)[1]
        ref = spectral_embedding(W_c, n_components=maps, norm_laplacian=True, drop_first=True, random_state=0)
        agreement = min(abs(np.corrcoef(ours[:, j], ref[:, j])[0, 1]) for j in range(3))
        repeats = 1 if n > 4000 else 3
        rows.append(BenchmarkRow(
            chapter="couplap", case=f"2 × {n} points, {maps} maps", reference="sklearn spectral_embedding (W_c)",
            ours_s=fastest(lambda: generalized_eigenmaps(L_c, D, maps), repeats),
            reference_s=fastest(lambda: spectral_embedding(W_c, n_components=maps, random_state=0), repeats),
            quality=f"min |corr| of first 3 maps {agreement:.3f} (its mass matrix counts the cross edges)"))
    return rows
