"Timing probe for the sizes declaration (calibration id 940; not a pinned run)."
import time
from dataclasses import replace
import torch
from cvkit.papers.semgud import CONFIGS, ARMS, make_domains, train_arm
torch.set_num_threads(1)
def per_step(cfg, arm, dom, n=8):
    a = train_arm(replace(cfg, steps=2, warmup=0.0), replace(ARMS[arm], steps=2), dom, 940)
    t = train_arm(replace(cfg, steps=n, warmup=0.0), replace(ARMS[arm], steps=n), dom, 940)
    return t.seconds / n
lap = CONFIGS["laptop"]
dom32 = make_domains(replace(lap, n_sharp=64, n_blurry=64, n_test=4), 940)
out = {}
for w in (8, 16):
    c = replace(lap, r_width=w)
    out[f"32px UNet-{w} b8"] = {a: per_step(c, a, dom32) for a in ("V1", "V3", "VS")}
issue = replace(lap, crop=64, side=192, r_arch="nafnet", r_width=16, batch=16, border=8)
dom64 = make_domains(replace(issue, n_sharp=64, n_blurry=64, n_test=4), 940)
out["64px NAFNet-16 b16"] = {a: per_step(issue, a, dom64, n=4) for a in ("V1", "V3", "VS")}
for k, v in out.items():
    print(k, {a: f"{s*1000:.0f} ms" for a, s in v.items()})
