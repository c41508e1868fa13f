"""GLOW gpu configuration: the measured inputs of the chapter's timing model (`gpu_cost`), on one CPU core.

No GPU was lent: the gpu scale has never run on one. Several parts of it stay in Python on one CPU core whatever the
device: drawing layouts (`sample_layout`), rendering scenes (`render_layout`), the plan search's enumeration of plans
(`glow_plan`, `category_plan`, `localise_victim`) and each attack's record (checkers, `realised`). This script times
them per item at 256 px, the plan search with a tiny 8 × 1 layout model so that the model's own arithmetic, which runs
on the device, is (almost) left out; it counts that arithmetic separately (FLOPs and model calls per request, with the
gpu model 128 × 4), prints the constants the chapter keeps (`CPU_ITEM_S`, `PLAN_QUERIES`), and prints `gpu_cost` for
the issue's sizes and for the configuration kept, with those constants and the assumed device rates.
Usage: python reports/laptop/glow-gpu-plan/timing_model.py
"""
import time
from dataclasses import replace

import numpy as np
import torch

from cvkit.core.claims import numpy_stream
from cvkit.papers.glow import (CONFIGS, GPU_CALL_S, GPU_TFLOPS, K, CooccurrenceChecker, GeometryChecker, calibrate,
                               category_plan, conventional_plan, count_flops, flagged_by, glow_plan, glow_scores,
                               gpu_cost, localise_victim, realised, render_layout, sample_layout, train_layout_model)
import cvkit.papers.glow as glow

torch.set_num_threads(1)
cfg = CONFIGS["gpu"]


def cpu(fn, n):
    "Mean CPU seconds of fn(k) over k < n, and the results."
    t = time.process_time()
    out = [fn(k) for k in range(n)]
    return (time.process_time() - t) / n, out


lay_s, layouts = cpu(lambda k: sample_layout(numpy_stream(k, "timing"), size=256), 400)
render_s, _ = cpu(lambda k: render_layout(layouts[k], numpy_stream(k, "timing-render")), 60)
tiny = train_layout_model(layouts, dim=8, layers=1, steps=2, seed=0)
full = train_layout_model(layouts, dim=cfg.layout_dim, layers=cfg.layout_layers, steps=2, seed=0)
cooc = CooccurrenceChecker(layouts)
test = [l for l in layouts if len(l) >= 2][:12]


def target(lay, avoid=()):
    "A category some object of the layout does not have (for R2/R3)."
    return next(c for c in (5, 2, 3, 4, 1, 0, 6, 7) if c not in lay.labels and c not in avoid)


def r1(model, k):
    lay = test[k]
    t = (int(lay.labels[0]) + 1) % K
    glow_plan(model, lay, 0, t, lam=cfg.lam)
    category_plan(cooc, lay, 0, t)
    conventional_plan(lay, 0, t)


def r2(model, k):
    lay = test[k]
    t = target(lay)
    localise_victim(model, lay, t, lam=cfg.lam, helpers=True)
    glow_plan(model, lay, 1, t, lam=cfg.lam)  # the random-victim arm


def r3(model, k):
    lay = test[k]
    t1 = target(lay)
    v, _ = localise_victim(model, lay, t1, lam=cfg.lam)
    localise_victim(model, lay, target(lay, (t1,)), lam=cfg.lam, exclude=(v,))


plan_s = {kind: cpu(lambda k, f=f: f(tiny, k), len(test))[0] for kind, f in (("R1", r1), ("R2", r2), ("R3", r3))}
calls = [0]
full.register_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
queries = {}
for kind, f in (("R1", r1), ("R2", r2), ("R3", r3)):
    calls[0] = 0
    flops = sum(count_flops(lambda k=k: f(full, k)) for k in range(len(test))) / len(test)
    queries[kind] = (flops, calls[0] / len(test))
half = len(layouts) // 2
checkers = {"D1": calibrate(CooccurrenceChecker(layouts[:half]), layouts[half:]),
            "D2": calibrate(GeometryChecker(layouts[:half]), layouts[half:])}
plans = [conventional_plan(l, 0, (int(l.labels[0]) + 1) % K) for l in test]


def record(k):
    lay, plan = test[k], plans[k]
    flagged_by(checkers, plan.apply(lay))
    flagged_by(checkers, lay)
    realised(plan, lay, lay, plan.apply(lay))
    glow_scores(tiny, lay, [plan], lam=cfg.lam)


record_s, _ = cpu(record, len(test))
cpu_items = {"sample_layout": lay_s, "render_layout": render_s, "plan R1": plan_s["R1"], "plan R2": plan_s["R2"],
             "plan R3": plan_s["R3"], "attack record": record_s}
print("CPU_ITEM_S =", {k: float(f"{v:.3g}") for k, v in cpu_items.items()})
print("PLAN_QUERIES =", {k: (float(f"{f:.3g}"), float(f"{c:.3g}")) for k, (f, c) in queries.items()})
glow.PLAN_QUERIES.update(queries)
issue = replace(cfg, pool=20000, train=15000, calibrate=2500, r1=200, r2=100, r3=100, det_steps=8000,
                layout_steps=5000, layouts=40000)
before = replace(cfg, pool=12000, train=9000, calibrate=1500, r1=200, r2=100, r3=100, det_steps=8000,
                 layout_steps=5000, layouts=40000)
for name, c in (("the issue's sizes (5 × 20,000 scenes, 5 × 400 requests, 8,000 detector steps)", issue),
                ("the configuration before this sizing (commit 5152a2a-f8bdd81)", before),
                ("the configuration kept, CONFIGS['gpu']", cfg)):
    table = gpu_cost(c, cpu_s=cpu_items)
    print(f"\n{name}: {c}")
    print(table.round(1).to_string())
    print(f"total {table.seconds.sum():.0f} s = {table.seconds.sum() / 60:.1f} min (CPU "
          f"{table[table['where'] == 'CPU'].seconds.sum():.0f} s, device at the assumed {GPU_TFLOPS:g} TFLOP/s and "
          f"{GPU_CALL_S * 1e3:g} ms a call {table[table['where'] == 'device'].seconds.sum():.0f} s)")
