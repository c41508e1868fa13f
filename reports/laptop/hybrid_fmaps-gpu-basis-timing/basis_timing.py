"""One-thread timing of one basis build (`spectral_shape`) on a 2,562-vertex crease shape, the gpu configuration's mesh
size: the unit of the chapter's gpu cost model (`SECONDS_PER_BASIS_2562`). Sizes: the learned part's (k_lb, k_el) =
(50, 15) and the axiomatic part's largest, (200, 100). Three calls each, after one warm-up; the fastest and the median."""
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np
import torch
from threadpoolctl import threadpool_limits

from cvkit.papers.hybrid_fmaps import SECONDS_PER_BASIS_2562, make_pair, spectral_shape

torch.set_num_threads(1)
with threadpool_limits(1):
    pair = make_pair("creases", 300, subdivisions=4)  # icosphere level 4: 2,562 vertices; id 300 = the gpu range's first
    V, F = pair.source
    print(f"mesh: {len(V)} vertices, {len(F)} faces; model's assumption SECONDS_PER_BASIS_2562 = {SECONDS_PER_BASIS_2562} s")
    for k_lb, k_el in [(50, 15), (200, 100)]:
        spectral_shape(V, F, k_lb=k_lb, k_el=k_el)  # warm-up
        times = []
        for _ in range(3):
            start = time.perf_counter()
            spectral_shape(V, F, k_lb=k_lb, k_el=k_el)
            times.append(time.perf_counter() - start)
        print(f"(k_lb, k_el) = ({k_lb}, {k_el}): fastest {min(times):.2f} s, median {np.median(times):.2f} s")
