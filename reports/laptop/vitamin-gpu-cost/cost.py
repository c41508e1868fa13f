"""The cost of ViTamin's gpu configuration, computed on the CPU (no GPU was lent): every training job's multiply–
accumulates (forward MACs of one image from `tower_table`, × 3 for forward and backward, × seen samples), summed per
replicate and over the replicates, and the CPU time DevicePairs takes to choose and composite one batch at 96 px.
Run: OMP_NUM_THREADS=1 python reports/laptop/vitamin-gpu-cost/cost.py > reports/laptop/vitamin-gpu-cost/cost.md"""
import time

from cvkit.core.claims import numpy_stream
from cvkit.papers.vitamin import CONFIGS, DevicePairs, tower_table

cfg = CONFIGS["gpu"]
macs = {size: tower_table(size, cfg.image_size)["MACs"] for size in (cfg.size, cfg.bigger)}
jobs = [(cfg.size, t, b, "locked") for t in cfg.towers for b in cfg.budgets
        if cfg.every_budget is None or t in cfg.every_budget or b == min(cfg.budgets)]
mid = cfg.budgets[len(cfg.budgets) // 2]
jobs += [(cfg.bigger, t, mid, "locked") for t in cfg.towers[:2]]
jobs += [(cfg.size, "ViTamin", min(cfg.budgets), "scratch")]  # its text transformer's MACs are not counted (small)
print(f"# ViTamin gpu configuration: training cost (computed on the CPU; not run on a GPU)\n")
print(f"image side {cfg.image_size}, batch {cfg.batch}, {cfg.seeds} replicates, budgets {cfg.budgets}\n")
params = {size: tower_table(size, cfg.image_size)["params"] for size in (cfg.size, cfg.bigger)}
print("| size | tower | text | parameters | seen samples | forward MACs / image | training MACs (× 3) |")
print("|---|---|---|---:|---:|---:|---:|")
total, pairs = 0.0, 0
for size, tower, budget, text in jobs:
    m = float(macs[size][tower])
    total += 3 * m * budget
    pairs += budget
    print(f"| {size} | {tower} | {text} | {params[size][tower] / 1e6:.2f} M | {budget:,} | {m / 1e9:.3f} G | "
          f"{3 * m * budget / 1e15:.2f} P |")
print(f"\nper replicate: {total / 1e15:.1f} PMAC = {2 * total / 1e15:.1f} PFLOP over {pairs:,} drawn pairs; "
      f"{cfg.seeds} replicates: {2 * total * cfg.seeds / 1e15:.0f} PFLOP")
print("\nHow long that takes was not measured (no GPU was lent). For scale: an H100 SXM's fp32 peak is about 67 TFLOP/s "
      "and its dense TF32 tensor-core peak about 495 TFLOP/s; the chapter trains with TF32 matrix products on CUDA "
      "(`cuda_training`). Small towers rarely sustain a large share of peak, so:")
for tflops in (40, 100, 300):
    print(f"- at {tflops} TFLOP/s sustained (an assumption, not a measurement): "
          f"{2 * total * cfg.seeds / (tflops * 1e12) / 60:.0f} min of training arithmetic")
print("\nThe design's gpu budget is 30 min on one H100 (the runner stops a chapter at three times its budget). Not "
      "counted above: the identity retrain, the MobileNetV2 row, the evaluations (60 of them) and drawing the "
      "evaluation sets on the CPU. At 100 TFLOP/s the configuration fits; at 40 it does not, and the first device "
      "run must time it and, if needed, cut the S run at 1 M pairs (37 % of the arithmetic) before its pins are set.")
def seconds_per_batch(size: int) -> tuple[float, float]:
    """Mean seconds per batch on this CPU of DevicePairs.draw (device='cpu': choices and pixels both here) and of
    DevicePairs.choose alone (the part that stays on the CPU when the device is a GPU)."""
    drawer = DevicePairs(size=size, device="cpu", rng=numpy_stream(0, "backgrounds"), background_pool=8)
    rng = numpy_stream(0, "data")
    drawer.draw(cfg.batch, rng)
    start = time.perf_counter()
    for _ in range(5):
        drawer.draw(cfg.batch, rng)
    full = (time.perf_counter() - start) / 5
    start = time.perf_counter()
    for _ in range(50):
        drawer.choose(cfg.batch, rng)
    return full, (time.perf_counter() - start) / 50


full, choices = seconds_per_batch(cfg.image_size)
batches = pairs * cfg.seeds / cfg.batch
print(f"\nDevicePairs on one CPU core, per batch of {cfg.batch} at {cfg.image_size} px: draw {full * 1e3:.0f} ms with "
      f"the pixels made on the CPU; choose alone {choices * 1e3:.2f} ms (what stays on the CPU when the device is a "
      f"GPU): {batches:,.0f} batches in all, so about {batches * choices / 60:.0f} min of CPU choices over the run")
