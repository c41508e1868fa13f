"""The text a laptop run's executed notebook printed, cell by cell: the committed source of the numbers the chapter's
prose quotes (the laptop reports commit no executed notebook). Images are left out; tables are kept as text.
Usage: python reports/laptop/hybrid_fmaps/outputs.py /tmp/hybrid_fmaps-lap0/notebooks/hybrid_fmaps.ipynb > outputs.txt
"""
import json
import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def cell_text(cell: dict) -> list[str]:
    "The printed text of one executed code cell (stream output and the text/plain of results and displays)."
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream" and o.get("name") == "stdout":
            out.append("".join(o["text"]))
        elif o.get("output_type") in ("execute_result", "display_data"):
            text = "".join(o.get("data", {}).get("text/plain", ""))
            if text and not text.startswith("<Figure") and "it/s]" not in text and "%|" not in text:
                out.append(text + "\n")
        elif o.get("output_type") == "error":
            out.append(f"ERROR {o.get('ename')}: {o.get('evalue')}\n")
    return [ANSI.sub("", t) for t in out]


nb = json.load(open(sys.argv[1]))
for i, cell in enumerate(nb["cells"]):
    if cell["cell_type"] != "code":
        continue
    text = cell_text(cell)
    if text:
        first = next((line for line in "".join(cell["source"]).splitlines() if line and not line.startswith("#|")), "")
        print(f"--- cell {i}: {first[:100]}")
        print("".join(text).rstrip())
