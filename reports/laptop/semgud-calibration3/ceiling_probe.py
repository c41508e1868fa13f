"Calibration 3, the supervised ceiling (rule: rule.md, part B). Ids 980–983; VS − blurry input on the 24 test crops."
import time
from dataclasses import replace

import numpy as np

from cvkit.core.imaging import psnr
from cvkit.papers.semgud import ARMS, CONFIGS, evaluate, make_domains, train_arm

lap = CONFIGS["laptop"]
IDS = (980, 981, 982, 983)
doms = {i: make_domains(lap, i) for i in IDS}
inp = {i: psnr(doms[i].test_blurry, doms[i].test_sharp, border=lap.border).mean().item() for i in IDS}
print(f"input PSNR (dB): {[round(inp[i], 2) for i in IDS]}", flush=True)
CANDIDATES = {"C0 committed": {}, "C1 augment": dict(augment=True), "C2 EMA 0.99": dict(ema=0.99),
              "C3 augment + EMA 0.99": dict(augment=True, ema=0.99)}
res = {}
for name, change in CANDIDATES.items():
    cfg = replace(lap, **change)
    gains, secs, own = [], [], []
    for i in IDS:
        t = train_arm(cfg, ARMS["VS"], doms[i], i)
        secs.append(t.seconds)
        gains.append(evaluate(t, doms[i], cfg, i)["psnr"] - inp[i])
        with_pairs = psnr(t.R(doms[i].true_pairs[0][:64]).clamp(0, 1), doms[i].true_pairs[1][:64], border=lap.border)
        own.append((with_pairs - psnr(doms[i].true_pairs[0][:64], doms[i].true_pairs[1][:64], border=lap.border)).mean().item())
    res[name] = float(np.mean(gains))
    print(f"{name}: VS − input {np.mean(gains):+.2f} dB (ids {np.round(gains, 2).tolist()}); on 64 of its own training "
          f"pairs {np.mean(own):+.2f} dB; {np.mean(secs):.1f} s per VS training", flush=True)
best = max(res, key=res.get)
pick = best if res[best] >= res["C0 committed"] + 0.15 else "C0 committed"
print(f"chosen by the rule: {pick} (VS − input {res[pick]:+.2f} dB; the best {best} {res[best]:+.2f} dB)")
