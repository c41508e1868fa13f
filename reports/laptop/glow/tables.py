import json, sys
nb = json.load(open(sys.argv[1])); commit = sys.argv[2]
out = ["# GLOW laptop run: text outputs of the executed notebook\n",
       f"From `cvkit reproduce glow --scale laptop --seed 0 --jobs 2` at commit `{commit}` (the run of `report.md` here); the",
       "executed notebook itself is not committed (over 1 MB). Every printed (stdout) output and plain-text table of a code",
       "cell, copied by a script (`tables.py` in /tmp of the session, not committed), headed by the cell's index in the",
       "notebook, its first source line and its papermill duration (wall seconds, under load).\n"]
for i, c in enumerate(nb["cells"]):
    if c["cell_type"] != "code":
        continue
    texts = []
    for o in c.get("outputs", []):
        if o.get("output_type") == "stream" and o.get("name") == "stdout":
            texts.append("".join(o["text"]))
        elif o.get("output_type") in ("execute_result", "display_data") and "text/plain" in o.get("data", {}) \
                and not any(m.startswith("image/") for m in o["data"]):
            t = "".join(o["data"]["text/plain"])
            if len(t) < 6000 and not t.startswith("<Figure"):
                texts.append(t)
    texts = [t for t in texts if t.strip() and "it/s]" not in t]
    if texts:
        first = "".join(c["source"]).split("\n")[0][:90]
        dur = (c.get("metadata", {}).get("papermill", {}) or {}).get("duration")
        out.append(f"## cell {i}: `{first}` ({dur:.1f} s)\n\n```\n" + "\n".join(t.rstrip() for t in texts) + "\n```\n")
print("\n".join(out))
