"""Print the printed lines and text tables of an executed FocusMAE notebook as an indented Markdown block.

Usage: python reports/laptop/focusmae/tables.py OUT/notebooks/focusmae.ipynb >> tables.md
Progress bars (tqdm lines) and figures are left out; HTML tables are copied through their text/plain form."""
import json
import sys


def printed(path: str) -> str:
    "The stdout streams and text results of every code cell, in order, one per block."
    nb = json.load(open(path))
    out = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream" and o.get("name") == "stdout":
                out.append("".join(o["text"]))
            elif o.get("output_type") in ("display_data", "execute_result"):
                data = o.get("data", {})
                if "text/plain" in data and "image/png" not in data:
                    out.append("".join(data["text/plain"]))
    lines = "\n".join(s.rstrip("\n") for s in out).split("\n")
    return "\n".join(("    " + l if l.strip() else "") for l in lines if "it/s]" not in l and "s/it]" not in l)


if __name__ == "__main__":
    print(printed(sys.argv[1]))
