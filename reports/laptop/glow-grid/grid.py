"""GLOW's claims decided again over the five committed laptop seeds (0-4), with the kit's grid code.

Reads the committed single-seed laptop reports (reports/laptop/glow = SEED 0, glow-seed1 ... glow-seed4), checks which
code each ran (the chapter's code cells and every module the chapter imports, at each run's commit against SEED 0's), decides every
claim over the seeds with `cvkit.core.reproduce.grid_from_reports` (each seed's mean over its five replicates is one
replicate: the kit's rule, fixed before this script was written) and writes the kit's grid report here. Then, as a
secondary, post-hoc reading, the same rule (`decide`) over all replicates pooled (5 per seed; every replicate
renders its own scene pool from its own seed, and the seeds' replicate blocks are disjoint, so they are independent).
The pooled reading was chosen after the first three per-seed reports, and so their fifteen replicate values, were known (this
script and its output were committed together; SEEDs 3 and 4 were added later, the kit's five-seed grid being the
decision they were run for): it is an observation, not a pre-declared test; the rule is the kit's,
unchanged. Nothing here re-pins anything.
Usage (from the repository root): python reports/laptop/glow-grid/grid.py > reports/laptop/glow-grid/grid.out
"""
import difflib
import json
import subprocess
from pathlib import Path

from cvkit.core.claims import Measurement, decide
from cvkit.core.reproduce import claim_spec_of, grid_from_reports, load_report, write_grid_report

HERE = Path(__file__).parent
FOLDERS = [Path("reports/laptop") / d for d in ("glow", "glow-seed1", "glow-seed2", "glow-seed3", "glow-seed4")]
MODULES = ["cvkit/papers/glow.py", "cvkit/core/backbones.py", "cvkit/core/claims.py", "cvkit/core/detection.py",
           "cvkit/core/data.py", "cvkit/core/chapters.py", "cvkit/core/sprites.py", "cvkit/core/settings.py",
           "cvkit/core/display.py", "cvkit/core/exercises.py"]


def code_cells(commit: str) -> list[str]:
    "The chapter notebook's code cells at a commit."
    nb = json.loads(subprocess.check_output(["git", "show", f"{commit}:nbs/chapters/50_glow.ipynb"]))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


commits = {load_report(f).seed: load_report(f).provenance["git"]["commit"] for f in FOLDERS}
print("runs:", ", ".join(f"SEED {s} at {c[:7]}" for s, c in commits.items()))
base = commits[0]
for seed, commit in commits.items():
    if seed == 0:
        continue
    # the chapter's code cells and the imported modules, line by line (difflib: cells may have been inserted since)
    a = "\n".join(code_cells(base)).splitlines()
    b = "\n".join(code_cells(commit)).splitlines()
    changed = [line for line in difflib.unified_diff(a, b, lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    mods = subprocess.check_output(["git", "diff", "--stat", base, commit, "--", *MODULES], text=True).strip()
    print(f"SEED {seed} ({commit[:7]}) vs SEED 0 ({base[:7]}): {len(changed)} changed lines in the chapter's code "
          f"cells; imported modules: {mods or 'identical'}")
    for line in changed:
        print(f"    {line}")

grid = grid_from_reports(FOLDERS)
write_grid_report(grid, HERE)
chapter = grid.chapters[0]
print(f"\nover the seeds (kit's grid, n = seeds): chapter status {chapter.status}, seeds left out: "
      f"{chapter.excluded_seeds or 'none'}")
print(f"{'claim':30s} {'verdict':14s} {'mean':>8s} {'interval':>20s} n  n to decide  per-seed verdicts")
for c in chapter.claims:
    ci = f"[{c['ci'][0]:.3f}, {c['ci'][1]:.3f}]" if c.get("ci") else "—"
    mean = f"{c['mean']:.3f}" if c.get("mean") is not None else "—"
    seeds = ", ".join(f"{s}: {v['verdict']}" for s, v in c["per_seed"].items())
    print(f"{c['id']:30s} {c['verdict']:14s} {mean:>8s} {ci:>20s} {c['n']}  {c.get('n_to_decide') or '—':>11}  {seeds}")

print("\nsecondary, post hoc (chosen after the per-seed reports were known): the same rule over every replicate "
      "pooled (n = replicates)")
per_seed = {load_report(f).seed: {c["id"]: c for c in load_report(f).chapters[0].claims} for f in FOLDERS}
for claim_id, first in per_seed[0].items():
    if first.get("mean") is None:
        continue
    values = tuple(float(v) for s in sorted(per_seed) for v in per_seed[s][claim_id]["values"])
    pooled = decide(claim_spec_of(first), Measurement(values, "replicate", {}, None, first["kind"]), "laptop").to_dict()
    print(f"{claim_id:30s} {pooled['verdict']:14s} {pooled['mean']:8.3f} "
          f"[{pooled['ci'][0]:.3f}, {pooled['ci'][1]:.3f}] n = {pooled['n']}  n to decide {pooled.get('n_to_decide') or '—'}")
