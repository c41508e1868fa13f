"""The spectral core: our shift-invert generalised eigen-solve against sklearn's spectral_embedding (same graph)."""
import numpy as np
from sklearn.manifold import spectral_embedding

from benchmarks.common import BenchmarkRow, fastest
from cvkit.core.spectral import generalized_eigenmaps, knn_graph, laplacian


def run(quick: bool = False) -> list[BenchmarkRow]:
    """Time of the eigen-solve alone (graph built once) and agreement of the embeddings, 1k to 16k points."""
    sizes = (1000,) if quick else (1000, 4000, 16000)
    n_maps = 10
    rows = []
    for n in sizes:
        points = np.random.default_rng(0).random((n, 3)) * [4.0, 1.5, 0.5]
        W = knn_graph(points, k=10)
        L, D = laplacian(W)
        ours = generalized_eigenmaps(L, D, n_maps)[1]
        ref = spectral_embedding(W, n_components=n_maps, norm_laplacian=True, drop_first=True, random_state=0)
        agreement = min(abs(np.corrcoef(ours[:, j], ref[:, j])[0, 1]) for j in range(3))
        rows.append(BenchmarkRow(
            chapter="spectral", case=f"{n} points, {n_maps} maps", reference="sklearn spectral_embedding",
            ours_s=fastest(lambda: generalized_eigenmaps(L, D, n_maps), 1 if n > 4000 else 3),
            reference_s=fastest(lambda: spectral_embedding(W, n_components=n_maps, random_state=0), 1 if n > 4000 else 3),
            quality=f"min |corr| of first 3 maps {agreement:.4f}"))
    return rows
