"""The chapter's benchmark rows, one run at full size (`benchmarks.hybrid_fmaps.run(quick=False)`), printed as
`python -m benchmarks` prints them: the elastic eigen-solve against the paper code's formulation, the whole hybrid
pipeline against the LBO-only one on one 1,500-vertex crease pair (the issue's "hybrid vs LBO pipeline cost"), the LBO
ZoomOut against pyFM's, and, when the research-use files are present, the LBO pipeline on lion → cat against pyFM's.
Usage (repository root, one thread): OMP_NUM_THREADS=1 python reports/laptop/hybrid_fmaps-benchmark/bench.py
"""
from benchmarks.hybrid_fmaps import run

header = f"{'chapter':8s} {'case':22s} {'reference':32s} {'ours':>10s} {'reference':>10s} {'ratio':>7s}  quality"
print(header)
print("-" * len(header))
for row in run(quick=False):
    print(f"{row.chapter:8s} {row.case:22s} {row.reference:32s} {1e3 * row.ours_s:8.2f}ms "
          f"{1e3 * row.reference_s:8.2f}ms {row.time_ratio:6.2f}×  {row.quality}")
print("\nratio = our time / reference time (below 1: ours is faster); both run in this process on the same inputs.")
