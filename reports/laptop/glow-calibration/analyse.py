"""Spread of every claim's per-replicate value on the calibration replicates (SEED 100) and the n that would decide
it: with the calibration's own mean and SD, and with the pinned SEED 0 run's mean (report.json) and the calibration SD."""
import glob, json, sys
import numpy as np, pandas as pd
import cvkit.papers.glow as G
from cvkit.core.claims import Measurement, n_to_decide, mean_interval
from dataclasses import replace
out = sys.argv[1]
files = sorted(glob.glob(f"{out}/records_*.csv"))
rec = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
for c in ("realised", "pass", "consistent", "flag_D1", "flag_D2", "flag_D3", "clean_flag", "b_realised", "b_consistent",
          "consistent_D123", "clean_flag_D3"):
    if c in rec:
        rec[c] = rec[c].astype(bool)
cfg = replace(G.CONFIGS["laptop"], replicates=len(files))
m = G.measure_claims(rec, None, cfg)
pinned = {c["id"]: c for c in json.load(open(sys.argv[2] if len(sys.argv) > 2 else "reports/laptop/glow/report.json"))["chapters"][0]["claims"]} \
    if True else {}
rows = []
for spec in G.CLAIM_SPECS:
    v = m[spec.id]
    if not isinstance(v, Measurement):
        continue
    x = np.array(v.values)
    rule = spec.rules["laptop"]
    (lo, hi), _ = mean_interval(x)
    pm = pinned.get(spec.id, {}).get("mean")
    rows.append({"claim": spec.id, "threshold": f"{spec.comparison} {rule.threshold}", "calibration values": np.round(x, 3).tolist(),
                 "mean": round(x.mean(), 4), "sd": round(x.std(ddof=1), 4), "interval": f"[{lo:.3f}, {hi:.3f}]",
                 "n to decide (calibration mean)": n_to_decide(x.mean(), x.std(ddof=1), spec.comparison, rule.threshold),
                 "pinned mean": pm,
                 "n to decide (pinned mean, calibration sd)": n_to_decide(pm, x.std(ddof=1), spec.comparison, rule.threshold) if pm is not None else None,
                 "pin": rule.expected})
df = pd.DataFrame(rows)
pd.set_option("display.width", 250); pd.set_option("display.max_columns", 20); pd.set_option("display.max_colwidth", 60)
print(f"{len(files)} calibration replicates (SEED 100, replicate seeds 100000..)")
print(df.to_string(index=False))
df.to_csv(f"{out}/spread.csv", index=False)
