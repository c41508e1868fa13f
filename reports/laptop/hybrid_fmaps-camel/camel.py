"""The camel-gallop poses at laptop size (report only, no claim): label-free cycle consistency, coverage, colour
transfer, and camel-01 against itself bent by a hinge (exact ground truth).

Until session 9 the chapter ran this section inside its laptop run (`camel_k=50`); it feeds no claim, and it cost about
60 s of CPU of a laptop run that was over its one-core budget, so the laptop configuration no longer runs it (the gpu
configuration still does) and this script keeps it: the chapter's own functions, the calls of the chapter's camel cell
line for line, `SEED = 0`, K = 50, k_init = 20 (the laptop configuration's). The research-use files are read from the
shared data folder next to the project (never copied). Prints what the cell printed and writes `camel.png` (the
colour transfer round the cycle).
Usage (repository root, one thread): OMP_NUM_THREADS=1 python reports/laptop/hybrid_fmaps-camel/camel.py
"""
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cvkit.core.chapters import shared_data_dir
from cvkit.core.claims import bootstrap_ci, numpy_stream
from cvkit.core.spectral import geodesic_distances
from cvkit.papers.hybrid_fmaps import (ARMS, CAMEL_POSES, CONFIGS, basis_sizes, camel_files, coverage, cycle_pointmap,
                                       hinge_bent_pair, match_pair, match_unlabelled, pck_auc, read_real_mesh,
                                       spectral_shape, split_sizes)

HERE = Path(__file__).parent
SEED, K = 0, 50
k_init = CONFIGS["laptop"].k_init
shared = shared_data_dir()
camel = camel_files(shared)
if camel is None:
    raise SystemExit(f"the camel-gallop files are not under {shared}")
t0, c0 = time.perf_counter(), time.process_time()
camel_meshes = [read_real_mesh(p) for p in camel]
camel_arms = {"lbo": 0.0, "hybrid": ARMS["hybrid"]}
camel_k_lb, camel_k_el = basis_sizes(k_init, (K,), camel_arms)
camel_shapes = [spectral_shape(v, f, k_lb=camel_k_lb, k_el=camel_k_el) for v, f in camel_meshes]
legs = {arm: [match_unlabelled(camel_shapes[j], camel_shapes[(j + 1) % 4], k_init=k_init, K=K, share=share)
              for j in range(4)] for arm, share in camel_arms.items()}
camel_dist = geodesic_distances(*camel_meshes[0])  # (n_01, n_01), also the bent pair's source geodesics
n01 = camel_shapes[0].n
cycle_errors = {arm: camel_dist[np.arange(n01), cycle_pointmap(maps)] for arm, maps in legs.items()}
camel_rows = []
for arm, maps in legs.items():
    cov = [coverage(p, camel_shapes[j].n) for j, p in enumerate(maps)]
    camel_rows.append(dict(arm=arm, cycle_error=100 * cycle_errors[arm].mean(),
                           home=np.mean(cycle_errors[arm] == 0), cycle_auc=pck_auc(cycle_errors[arm]),
                           **{f"coverage {CAMEL_POSES[j]}←{CAMEL_POSES[(j + 1) % 4]}": c for j, c in enumerate(cov)}))
camel_table = pd.DataFrame(camel_rows)
cycle_diff = 100 * (cycle_errors["hybrid"] - cycle_errors["lbo"])
bent_camel = hinge_bent_pair(*camel_meshes[0], numpy_stream(SEED * 1000, "camel hinge"), family="camel-01 bent")
bent_table, bent_maps = match_pair(bent_camel, k_init=k_init, sizes=(K,), arms=camel_arms,
                                   source=(camel_shapes[0], camel_dist))
print(f"camel poses {', '.join(CAMEL_POSES)} (files under {shared}): "
      f"{', '.join(str(s.n) for s in camel_shapes)} vertices; K = {K} (hybrid {split_sizes(K, ARMS['hybrid'])}), "
      f"no labels")
print(f"cycle 01 → 04 → 07 → 10 → 01, mean cycle error ×100: LBO {100 * cycle_errors['lbo'].mean():.3f}, hybrid "
      f"{100 * cycle_errors['hybrid'].mean():.3f}; per vertex hybrid − LBO {cycle_diff.mean():.3f} "
      f"{tuple(round(v, 3) for v in bootstrap_ci(cycle_diff))} (bootstrap over the {n01} vertices of camel-01; "
      f"neighbours are correlated, so the interval is narrow); hybrid lower at {np.mean(cycle_diff < 0):.1%} of "
      f"the vertices, higher at {np.mean(cycle_diff > 0):.1%}")
print(camel_table.round(3).to_markdown(index=False))
print(f"camel-01 against itself bent by a {np.degrees(bent_camel.angle):.0f}° hinge (exact ground truth, "
      f"{len(bent_camel.landmarks[0])} landmark pairs):")
print(bent_table[["arm", "K", "init_error", "error", "auc"]].round(3).to_markdown(index=False))
print(f"CPU {time.process_time() - c0:.0f} s, wall {time.perf_counter() - t0:.0f} s")
v01 = camel_meshes[0][0]
colours = (v01 - v01.min(0)) / (v01.max(0) - v01.min(0))  # camel-01 coloured by its coordinates (RGB)
fig = plt.figure(figsize=(13, 5))
for r, (arm, maps) in enumerate(legs.items()):
    col = colours
    for j in range(5):
        shown = camel_meshes[j % 4][0]
        ax = fig.add_subplot(2, 5, 5 * r + j + 1, projection="3d")
        ax.scatter(*shown.T, c=col, s=0.5)
        ax.set_title(f"{arm}: " + ("camel-01" if j == 0 else f"→ {CAMEL_POSES[j % 4]}" + (" (home)" if j == 4 else "")),
                     fontsize=8)
        ax.set_axis_off()
        if j < 4:
            col = col[maps[j]]  # f_{j+1} = f_j[p_j]: carried to the next pose
fig.savefig(HERE / "camel.png", dpi=80, bbox_inches="tight")
