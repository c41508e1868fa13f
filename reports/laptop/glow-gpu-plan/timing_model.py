"""GLOW gpu configuration: a timing model of its CPU-bound parts, measured on one CPU core.

The gpu scale has never run on a GPU. Its GPU work (detector and layout-model training, PGD, feature caching) cannot
be timed here, but several parts of it stay in Python on one CPU core whatever the device: drawing layouts
(`sample_layout`), rendering scenes (`render_layout`), and the plan search (`glow_plan`, `category_plan`,
`localise_victim`), whose layout-model queries are small. This script times those parts with the gpu configuration's
sizes (256-pixel scenes, layout model 128 x 4 on the CPU: an upper bound for its queries on a GPU) and multiplies
them by the configuration's counts. Usage: python reports/laptop/glow-gpu-plan/timing_model.py
"""
import time

import numpy as np
import torch

from cvkit.core.claims import numpy_stream
from cvkit.papers.glow import (CONFIGS, category_plan, CooccurrenceChecker, glow_plan, localise_victim,
                               render_layout, sample_layout, train_layout_model)

torch.set_num_threads(1)
cfg = CONFIGS["gpu"]


def cpu(fn, n):
    t = time.process_time()
    out = [fn(k) for k in range(n)]
    return (time.process_time() - t) / n, out


lay_s, layouts = cpu(lambda k: sample_layout(numpy_stream(k, "timing"), size=cfg.size), 400)
render_s, _ = cpu(lambda k: render_layout(layouts[k], numpy_stream(k, "timing-render")), 60)
model = train_layout_model(layouts, dim=cfg.layout_dim, layers=cfg.layout_layers, steps=2, seed=0)
cooc = CooccurrenceChecker(layouts)
test = [l for l in layouts if len(l) >= 2][:12]
r1_s, _ = cpu(lambda k: glow_plan(model, test[k], 0, (int(test[k].labels[0]) + 1) % 8, lam=cfg.lam), len(test))
cat_s, _ = cpu(lambda k: category_plan(cooc, test[k], 0, (int(test[k].labels[0]) + 1) % 8), len(test))
r2_s, _ = cpu(lambda k: localise_victim(model, test[k], 5 if 5 not in test[k].labels else 2, lam=cfg.lam, helpers=True),
              len(test))
r3_s, _ = cpu(lambda k: localise_victim(model, test[k], 3 if 3 not in test[k].labels else 4, lam=cfg.lam), len(test))
R = cfg.replicates
parts = {
    "sample_layout (layout-model sample)": lay_s * cfg.layouts * R,
    "render_layout (scene pools)": render_s * cfg.pool * R,
    "R1 plans (GLOW + category-only)": (r1_s + cat_s) * cfg.r1 * R,
    "R2 plans (localisation + random victim)": (r2_s + r1_s) * cfg.r2 * R,
    "R3 plans (two localisations)": 2 * r3_s * cfg.r3 * R,
}
print(f"per item (CPU s): sample_layout {lay_s * 1e3:.2f} ms, render {render_s * 1e3:.2f} ms at {cfg.size} px, "
      f"R1 GLOW plan {r1_s * 1e3:.0f} ms, category plan {cat_s * 1e3:.0f} ms, R2 localisation {r2_s * 1e3:.0f} ms, "
      f"R3 localisation step {r3_s * 1e3:.0f} ms")
for k, v in parts.items():
    print(f"{k:45s} {v:8.0f} s")
print(f"{'CPU-bound parts of the gpu configuration':45s} {sum(parts.values()):8.0f} s "
      f"(of the 1,800 s budget; GPU work comes on top and is not measured here)")
