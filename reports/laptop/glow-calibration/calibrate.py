"""GLOW replicate-count calibration (issue 25): laptop configuration, calibration SEED 100 (replicate seeds
100000.., world seed 100), disjoint from the pinned SEED 0 run (replicate seeds 0..4, world seed 0). Per replicate:
the per-request records (CSV) and process time; D3 (the layout auto-encoder, fit like D1/D2 on A's detections of the
calibration split's first half, threshold on its second half) clean false positives, implausible catch rate and flag
rates of realised R1 attacks per planner. Usage: calibrate.py OUT_DIR N_REPLICATES"""
import json, sys, time
from pathlib import Path
import numpy as np, pandas as pd, torch
torch.set_num_threads(1)
import cvkit.papers.glow as G
from cvkit.core.backbones import load_mobilenet_v2
from cvkit.core.claims import numpy_stream, replicate_seeds

out, n_rep = Path(sys.argv[1]), int(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
SEED = 100
has_d3 = hasattr(G, "AutoencoderChecker")
if not has_d3:
    ns = vars(G).copy(); raise SystemExit("this script needs the D3 code of commit 4e045f9 or later")
    D3 = ns["AutoencoderChecker"]
else:
    D3 = G.AutoencoderChecker
cfg = G.CONFIGS["laptop"]
log = {"seed": SEED, "config": repr(cfg), "module_has_d3": has_d3, "replicates": []}
t0 = time.process_time()
backbone = load_mobilenet_v2(None)
world = G.build_world(backbone, cfg, SEED)
log["world_cpu_s"] = time.process_time() - t0
car = G.CATEGORIES.index("car")
def car_in_sky(l):
    labels, boxes = l.labels.copy(), l.boxes.copy()
    h = boxes[0, 3] - boxes[0, 1]
    labels[0], boxes[0, 1], boxes[0, 3] = car, 2, 2 + h
    return G.Layout(labels, boxes, l.size)
for r, seed in enumerate(replicate_seeds(SEED, n_rep)):
    t = time.process_time()
    res = G.run_replicate(backbone, world, cfg, seed, identity_check=0)
    cpu = time.process_time() - t
    rec = pd.DataFrame(res["records"]).assign(replicate=r)
    rec.drop(columns=[c for c in rec if c == "linf"]).to_csv(out / f"records_{r}.csv", index=False)
    # D3 on this replicate's own split, exactly as the chapter's code fits D1/D2
    order = numpy_stream(seed, "split").permutation(len(world.images))
    ca = order[cfg.train:cfg.train + cfg.calibrate]
    sub = lambda idx: [f[torch.as_tensor(idx)] for f in world.feats]
    cal = [G.as_layout(d, cfg.size) for d in G.detect(res["head"], sub(ca))]
    half = len(cal) // 2
    if "D3" in res["checkers"]:
        d3 = res["checkers"]["D3"]
    else:
        d3 = G.calibrate(D3(cal[:half], seed=seed), cal[half:])
    test = [l for l in res["test_layouts"] if len(l)]
    d3_flags = [d3.flags(res["adv_layouts"][q]) for q in range(len(res["jobs"]))]
    jobs = res["jobs"]
    per_arm = {}
    for arm in G.ARMS_R1:
        qs = [q for q, j in enumerate(jobs) if j[0] == "R1" and j[1] == arm and res["records"][q]["realised"]]
        per_arm[arm] = {"realised": len(qs), "d3_flag_rate": float(np.mean([d3_flags[q] for q in qs])) if qs else None}
    row = {"replicate": r, "seed": seed, "cpu_s": cpu, "map": res["map"], "clean_fp_D1": res["clean_fp_D1"],
           "clean_fp_D2": res["clean_fp_D2"], "clean_fp": res["clean_fp"],
           "d3_clean_fp": float(np.mean([d3.flags(l) for l in test])),
           "d3_fit_fp": float(np.mean([d3.flags(l) for l in cal[half:] if len(l)])),
           "d3_caught": float(np.mean([d3.flags(car_in_sky(l)) for l in test])),
           "d3_per_arm_R1": per_arm}
    log["replicates"].append(row)
    print(json.dumps(row), flush=True)
    (out / "calibration.json").write_text(json.dumps(log, indent=1))
log["total_cpu_s"] = time.process_time() - t0
(out / "calibration.json").write_text(json.dumps(log, indent=1))
print("done", log["total_cpu_s"])
