"""3DinAction t-patches: the torch kNN against SciPy's cKDTree on body clouds, and t-patch extraction (tracking, a loop
over frames) against per-frame grouping (one batched FPS + kNN), on the same clips."""
import numpy as np
import torch
from scipy.spatial import cKDTree

from benchmarks.common import BenchmarkRow, fastest
from cvkit.core.points import knn
from cvkit.papers.tpatches import extract_tpatches, frame_groups, make_clouds


def run(quick: bool = False) -> list[BenchmarkRow]:
    """kNN of every point of T frames (k = 16) and grouping of 2 clips, at 256 (quick) or 256 and 1 024 points."""
    rows = []
    for n in ((256,) if quick else (256, 1024)):
        clouds = make_clouds([0], 0, 16, n).clouds[:2]  # (2, T, N, 3): two actions of one subject
        frames = clouds.reshape(-1, n, 3)
        repeats = 3
        ours = knn(frames, frames, 16)[1].numpy()
        ref = np.stack([cKDTree(f.numpy()).query(f.numpy(), k=16)[1] for f in frames])
        same = float(np.mean(np.sort(ours, -1) == np.sort(ref, -1)))
        rows.append(BenchmarkRow(
            chapter="tpatches", case=f"kNN {len(frames)}×{n} pts k=16", reference="scipy cKDTree (build + query)",
            ours_s=fastest(lambda: knn(frames, frames, 16), repeats),
            reference_s=fastest(lambda: [cKDTree(f.numpy()).query(f.numpy(), k=16) for f in frames], repeats),
            quality=f"same neighbour sets {same:.1%}"))
        gen = torch.Generator().manual_seed(0)
        rows.append(BenchmarkRow(
            chapter="tpatches", case=f"t-patches 2×16×{n}, S={n // 4}", reference="per-frame FPS + kNN (no tracking)",
            ours_s=fastest(lambda: extract_tpatches(clouds, n // 4, 16, jitter=0.005, bidirectional=True,
                                                    generator=gen), repeats),
            reference_s=fastest(lambda: frame_groups(clouds, n // 4, 16), repeats),
            quality="both cached once per clip before training"))
    return rows
