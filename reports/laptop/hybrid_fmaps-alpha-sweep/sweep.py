"""The learned pipeline's α sweep (issue 20): LBO-only vs hybrid GeomFmaps at each probed solver weight α.

Report only, on calibration replicates disjoint from the pinned run (ids 800–801 of SEED 0's block; the pinned laptop
run uses 600–604, the earlier calibrations 500–511 and 700). Everything else is the laptop learned configuration.
Run from the repository root: OMP_NUM_THREADS=1 .venv/bin/python reports/laptop/hybrid_fmaps-alpha-sweep/sweep.py
"""
import dataclasses
import json
import resource
import subprocess
import time
from pathlib import Path

import torch

from cvkit.papers.hybrid_fmaps import LEARNED_CONFIGS, learned_errors_by_replicate, run_learned

torch.set_num_threads(1)
ALPHAS = (0.001, 0.01, 0.1, 1.0)
OUT = Path(__file__).parent
cfg0 = dataclasses.replace(LEARNED_CONFIGS["laptop"], replicates=2, first_replicate=800)
rows, t0 = [], time.process_time()
for alpha in ALPHAS:
    res = run_learned(dataclasses.replace(cfg0, weight=alpha), 0, progress=False)
    assert res.identity_gap == 0, res.identity_gap
    for family in cfg0.families:
        t = learned_errors_by_replicate(res, family)
        for rid, r in t.iterrows():
            rows.append(dict(alpha=alpha, family=family, replicate=int(rid), lbo=float(r.lbo), hybrid=float(r.hybrid)))
    print(f"α = {alpha:g} done, CPU so far {time.process_time() - t0:.0f} s", flush=True)
cpu = resource.getrusage(resource.RUSAGE_SELF)
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout)
(OUT / "sweep.json").write_text(json.dumps(dict(commit=commit, dirty=dirty, config=dataclasses.asdict(cfg0), alphas=ALPHAS,
                                                cpu_s=cpu.ru_utime + cpu.ru_stime, rows=rows), indent=1))
lines = ["| α | family | LBO-only (per replicate) | hybrid (per replicate) | mean LBO | mean hybrid | hybrid lower |",
         "|---|---|---|---|---|---|---|"]
for alpha in ALPHAS:
    for family in cfg0.families:
        rs = [r for r in rows if r["alpha"] == alpha and r["family"] == family]
        lbo, hyb = [r["lbo"] for r in rs], [r["hybrid"] for r in rs]
        lines.append(f"| {alpha:g} | {family} | {', '.join(f'{v:.2f}' for v in lbo)} | {', '.join(f'{v:.2f}' for v in hyb)} "
                     f"| {sum(lbo) / len(lbo):.2f} | {sum(hyb) / len(hyb):.2f} | {sum(h < l for h, l in zip(hyb, lbo))} of {len(rs)} |")
(OUT / "table.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
print(f"commit {commit}{' (dirty)' if dirty else ''}; CPU {cpu.ru_utime + cpu.ru_stime:.0f} s")
