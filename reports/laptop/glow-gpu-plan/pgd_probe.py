"""A short device probe of the timing model's PGD assumption (about a minute on a GPU): time PGD steps of the chapter's
detector at the gpu configuration's sizes (batch 16, 256 px: the batch `gpu_cost` assumes) and compare the measured
time a call, and the sustained rate it implies, with the model's assumed `GPU_TFLOPS` and `GPU_CALL_S`.
Models are freshly initialised (FLOPs and time depend on shapes only). Nothing here changes the chapter.
Usage (from the repository root): python reports/laptop/glow-gpu-plan/pgd_probe.py [--device cuda] [--seconds 30]
The break-even rate is the sustained rate at which the gpu configuration still fits the 30-minute budget by the model
(with the assumed 2 ms a call kept); below it, the configuration must shrink before a gpu run.
"""
import argparse
import time
from dataclasses import replace

import torch

from cvkit.core.backbones import MobileNetV2, multiscale_features
from cvkit.core.detection import CenterNetHead
from cvkit.papers.glow import CONFIGS, GPU_CALL_S, GPU_TFLOPS, LAYERS, K, device_flops, gpu_cost, pgd_attack

BATCH, BUDGET_S = 16, 30 * 60


def break_even_tflops(budget_s: float = BUDGET_S) -> float:
    "The sustained TFLOP/s at which the gpu configuration's modelled time equals budget_s (the per-call cost kept)."
    cfg = CONFIGS["gpu"]
    total = gpu_cost(cfg).seconds.sum()
    arithmetic = gpu_cost(cfg, call_s=0.0).query("where == 'device'").seconds.sum()  # at GPU_TFLOPS
    fixed = total - arithmetic  # the CPU rows and the per-call cost
    if fixed >= budget_s:
        raise ValueError(f"the rows that do not scale with the rate already take {fixed:.0f} s of {budget_s:.0f} s")
    return arithmetic * GPU_TFLOPS / (budget_s - fixed)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--seconds", type=float, default=30.0, help="time spent in timed calls (after 3 warm-up calls)")
    ap.add_argument("--size", type=int, default=CONFIGS["gpu"].size)
    args = ap.parse_args()
    cfg = CONFIGS["gpu"]
    dev = torch.device(args.device)
    backbone = MobileNetV2().eval().requires_grad_(False).to(dev)
    head = CenterNetHead((32, 96), K).eval().requires_grad_(False).to(dev)
    x = torch.rand(BATCH, 3, args.size, args.size, device=dev)

    def loss_fn(z: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) → (B,)
        return head(multiscale_features(backbone, z, layers=LAYERS))["heat"].sum((1, 2, 3))

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    pgd_attack(x, loss_fn, eps=cfg.eps, steps=3)  # warm-up: kernels, allocator
    sync()
    calls, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < args.seconds:
        pgd_attack(x, loss_fn, eps=cfg.eps, steps=10)
        sync()
        calls += 10
    wall = time.perf_counter() - t0
    per_call = wall / calls
    flops = device_flops(replace(cfg, size=args.size))["pgd_step"] * BATCH  # one call: BATCH images, forward and backward to the pixels
    modelled = flops / (GPU_TFLOPS * 1e12) + GPU_CALL_S
    print(f"device {dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'CPU'}), batch {BATCH}, "
          f"{args.size} px: {calls} PGD steps in {wall:.1f} s")
    print(f"measured {per_call * 1e3:.2f} ms a call; the model assumes {modelled * 1e3:.2f} ms "
          f"({flops / 1e9:.1f} GFLOP at {GPU_TFLOPS:g} TFLOP/s + {GPU_CALL_S * 1e3:g} ms)")
    print(f"sustained rate implied (whole call counted as arithmetic): {flops / per_call / 1e12:.2f} TFLOP/s; "
          f"break-even for 30 min: {break_even_tflops():.2f} TFLOP/s; for the test's 20 min: "
          f"{break_even_tflops(20 * 60):.2f} TFLOP/s")


if __name__ == "__main__":
    main()
