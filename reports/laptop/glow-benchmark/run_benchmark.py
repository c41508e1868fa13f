import time, platform, torch, subprocess
torch.set_num_threads(1)
from benchmarks import glow
t = time.process_time()
rows = glow.run(quick=False)
print(f"{'case':24s} {'reference':32s} {'ours':>10s} {'reference':>10s} {'ratio':>7s}  quality")
for row in rows:
    print(f"{row.case:24s} {row.reference:32s} {1e3 * row.ours_s:8.2f}ms {1e3 * row.reference_s:8.2f}ms "
          f"{row.time_ratio:6.2f}×  {row.quality}")
print(f"\nratio = our time / reference time (below 1: ours is faster); PGD times are per attack step. One thread, "
      f"CPU {time.process_time() - t:.1f} s in all; torch {torch.__version__}, Python {platform.python_version()}.")
