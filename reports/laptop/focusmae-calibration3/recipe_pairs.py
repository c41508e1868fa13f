"""The session-10 recipe against the session-9 recipe on the same 10 encoder pairs (gate review M1), from committed
files only (no run): SEEDs 0 and 1 of the session-9 laptop runs (reports committed at 8f39535 and 7d34012) and of the
session-10 runs (b744d5c's reports, committed at 8c676be). The pretraining is the same in both: the check below
compares every seed's linear-probe replicates (pretraining-learns and focus-adamae-beats-adamae), which depend on the
pretrained encoders and the folds only. Per-seed tube and Focus-tube accuracies are read from each run's tables.md.

Usage: python reports/laptop/focusmae-calibration3/recipe_pairs.py   (in the repository; uses git show)
"""
import json
import re
import subprocess

import numpy as np

RUNS = {  # SEED: (session-9 commit, session-10 commit, report folder)
    0: ("8f39535", "8c676be", "reports/laptop/focusmae"),
    1: ("7d34012", "8c676be", "reports/laptop/focusmae-seed1"),
}


def show(commit: str, path: str) -> str:
    return subprocess.run(["git", "show", f"{commit}:{path}"], capture_output=True, text=True, check=True).stdout


def per_seed(commit: str, folder: str, seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
    "(5,) tube and Focus-tube fine-tuned accuracy (points) and the claims of one committed report."
    rows = {}
    for line in show(commit, f"{folder}/tables.md").splitlines():
        m = re.match(r"\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)\s", line)
        if m and 1000 * seed <= int(m.group(1)) < 1000 * seed + 5 and int(m.group(1)) not in rows:
            rows[int(m.group(1))] = (100 * float(m.group(2)), 100 * float(m.group(3)))
    keys = [1000 * seed + r for r in range(5)]
    claims = {c["id"]: c for c in json.loads(show(commit, f"{folder}/report.json"))["chapters"][0]["claims"]}
    return np.array([rows[k][0] for k in keys]), np.array([rows[k][1] for k in keys]), claims


def main() -> None:
    before, after = {"tube": [], "focus": [], "d": []}, {"tube": [], "focus": [], "d": []}
    for seed, (c9, c10, folder) in RUNS.items():
        t9, f9, cl9 = per_seed(c9, folder, seed)
        t10, f10, cl10 = per_seed(c10, folder, seed)
        for cid in ("pretraining-learns", "focus-adamae-beats-adamae"):
            same = np.allclose(cl9[cid]["values"], cl10[cid]["values"], atol=1e-9)
            print(f"SEED {seed} {cid} replicates equal in both runs (same pretraining): {same}")
            assert same
        for store, t, f in ((before, t9, f9), (after, t10, f10)):
            store["tube"].append(t), store["focus"].append(f), store["d"].append(f - t)
        print(f"SEED {seed}: seeds {[1000 * seed + r for r in range(5)]}")
        print(f"  session 9 : tube {t9.tolist()}, Focus {f9.tolist()}, d {np.round(f9 - t9, 1).tolist()}, "
              f"SD {np.std(f9 - t9, ddof=1):.1f}")
        print(f"  session 10: tube {t10.tolist()}, Focus {f10.tolist()}, d {np.round(f10 - t10, 1).tolist()}, "
              f"SD {np.std(f10 - t10, ddof=1):.1f}")
    for name, s in (("session 9", before), ("session 10", after)):
        arms = np.concatenate(s["tube"] + s["focus"])
        d = np.concatenate(s["d"])
        print(f"{name}, 10 pairs: SD of the paired difference {np.std(d, ddof=1):.1f} (mean {d.mean():+.1f}); "
              f"arm accuracy mean {arms.mean():.1f} % over 20 fine-tunings; fine-tunings <= 65 %: {(arms <= 65).sum()}; "
              f"<= 55 %: {(arms <= 55).sum()}")
    change = np.concatenate(after["tube"] + after["focus"]) - np.concatenate(before["tube"] + before["focus"])
    print(f"recipe's change of arm accuracy, 20 encoder-arm pairs: mean {change.mean():+.1f} points, "
          f"SE {np.std(change, ddof=1) / np.sqrt(len(change)):.1f}")


if __name__ == "__main__":
    main()
