"""Where a FocusMAE run's time goes: the wall time of every code cell of an executed notebook (papermill's record).

Usage: python reports/laptop/focusmae/profile.py OUT/notebooks/focusmae.ipynb > profile.md
With one thread the wall time of a cell is close to its CPU time; cells under 1 s are summed into one line."""
import json
import sys


def profile(path: str) -> str:
    "A Markdown table: cell id, seconds, the cell's first line; then the small cells' sum and the total."
    nb = json.load(open(path))
    rows, small, total = [], 0.0, 0.0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        t = float(cell.get("metadata", {}).get("papermill", {}).get("duration") or 0.0)
        total += t
        first = "".join(cell["source"]).strip().splitlines()[0] if "".join(cell["source"]).strip() else ""
        if t >= 1.0:
            rows.append(f"| {cell.get('id', '')} | {t:.1f} | `{first[:70].replace('|', '/')}` |")
        else:
            small += t
    return "\n".join(["| cell | wall s | first line |", "|---|---|---|", *rows, f"| (cells under 1 s) | {small:.1f} | |",
                      f"| **total** | {total:.1f} | |"])


if __name__ == "__main__":
    print(profile(sys.argv[1]))
