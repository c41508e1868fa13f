"""V3 − blind MAP alone, per seed, from the five committed laptop reports of the same code (no new run).

The claim beats-blind-map compares V3 with the better of blind MAP and the blurry input per replicate, a choice made
with the ground truth. This script reads what the committed reports keep: V3's mean PSNR on MAP's crops (the claim's
arms in report.json, full precision) and blind MAP's mean PSNR on the same crops (the results table in tables.md,
three decimals), and prints their difference per seed and the mean over the seeds. The reports do not keep blind
MAP's per-replicate scores, so no per-replicate difference and no interval can be computed from them.
Run from the repository root: python reports/laptop/semgud-v3-map/v3_minus_map.py
"""
import json
import re
from pathlib import Path

SEEDS = {0: "semgud", 1: "semgud-seed1", 2: "semgud-seed2", 3: "semgud-seed3", 4: "semgud-seed4"}


def find_claim(obj, cid: str) -> dict:
    "The claim dict with id `cid` anywhere in a report.json tree."
    if isinstance(obj, dict):
        if obj.get("id") == cid:
            return obj
        obj = list(obj.values())
    if isinstance(obj, list):
        for v in obj:
            try:
                return find_claim(v, cid)
            except KeyError:
                pass
    raise KeyError(cid)


def main() -> None:
    diffs = []
    for seed, folder in SEEDS.items():
        root = Path("reports/laptop") / folder
        claim = find_claim(json.loads((root / "report.json").read_text()), "beats-blind-map")
        v3 = claim["arms"]["V3"]
        best = claim["arms"]["better of blind MAP and input"]
        tables = (root / "tables.md").read_text()
        map_psnr = float(re.search(r"^blind MAP\s+([\d.]+)", tables, re.M).group(1))
        map_gain = float(re.search(r"blind MAP − input on MAP's crops: ([-+\d.]+) dB", tables).group(1))
        diffs.append(v3 - map_psnr)
        print(f"SEED {seed} ({folder}): V3 on MAP's crops {v3:.3f} dB, blind MAP {map_psnr:.3f} dB, V3 − MAP "
              f"{v3 - map_psnr:+.3f} dB (MAP's PSNR rounded to 0.001); better of MAP and input {best:.3f}, "
              f"V3 − that {v3 - best:+.3f} dB; blind MAP − input {map_gain:+.2f} dB")
    print(f"V3 − blind MAP alone, mean over the five seeds (each a mean over its five replicates): "
          f"{sum(diffs) / len(diffs):+.3f} dB; per seed {[round(d, 3) for d in diffs]}")


if __name__ == "__main__":
    main()
