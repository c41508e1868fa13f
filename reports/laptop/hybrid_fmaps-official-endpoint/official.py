"""The official hybrid ZoomOut schedule's 1:1 endpoint on four laptop crease pairs (report only, no claim).

Until session 9 the laptop configuration ran this inside the chapter (`official_pairs=4`); it feeds no claim, and the
laptop run was over its one-core CPU budget, so the chapter's laptop configuration now runs no official-schedule pairs
and this script keeps the comparison. It calls the chapter's own `run_experiment` with the laptop configuration cut
to the first four pairs per family (SEED 0, ids 200-203, the same ids and code path the laptop run used) and nothing
else (no sweep, remeshed or δ pairs), with `official_pairs=4`, and prints the table the chapter printed.
Usage (repository root, one thread): OMP_NUM_THREADS=1 python reports/laptop/hybrid_fmaps-official-endpoint/official.py
"""
import dataclasses
import time
import warnings

import pandas as pd

from cvkit.papers.hybrid_fmaps import CONFIGS, run_experiment

warnings.filterwarnings("ignore", message=".*non-manifold.*")
cfg = dataclasses.replace(CONFIGS["laptop"], pairs=4, sweep_shapes=0, remeshed=0, delta_pairs=0, official_pairs=4)
t0, c0 = time.perf_counter(), time.process_time()
T = run_experiment(cfg, 0, progress=False).table
official = T[T.part == "official"]
K_ours, K_off = max(cfg.sizes), int(official.K.iloc[0])
ours = T[(T.part == "family") & (T.family == "creases") & (T.K == K_ours) & T.pair.isin(official.pair)]
ours = ours.pivot_table(index="pair", columns="arm", values="error")
off = official.pivot_table(index="pair", columns="arm", values="error")
endpoint = pd.DataFrame({f"LBO K={K_ours}": ours.lbo, f"hybrid 7:3 K={K_ours}": ours.hybrid,
                         f"LBO K={K_off}": off.lbo, f"hybrid 1:1 K={K_off}": off["hybrid 1:1 (official)"]})
print("mean geodesic error ×100 per crease pair (SEED 0, laptop shapes of 1,500 vertices):")
print(endpoint.round(3).to_markdown())
print(f"means over {len(endpoint)} crease pairs: " + ", ".join(f"{k} {v:.3f}" for k, v in endpoint.mean().items()))
print(f"hybrid lower than LBO-only on {int((ours.hybrid < ours.lbo).sum())} of {len(endpoint)} pairs with the pinned "
      f"7:3 schedule (K = {K_ours}), on {int((off['hybrid 1:1 (official)'] < off.lbo).sum())} of {len(endpoint)} with "
      f"the official 1:1 endpoint (K = {K_off})")
print(f"CPU {time.process_time() - c0:.0f} s, wall {time.perf_counter() - t0:.0f} s (whole script: four pairs per family)")
