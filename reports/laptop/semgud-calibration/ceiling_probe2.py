"Calibration round 2 (ids 960, 961; never pinned or reported): the supervised ceiling VS − input for ceiling_rule2.md's candidates."
import time
from dataclasses import replace
import numpy as np
import torch
from cvkit.papers.semgud import CONFIGS, ARMS, make_domains, train_arm, evaluate, restore
from cvkit.core.imaging import psnr
torch.set_num_threads(1)
IDS = (960, 961)
lap = CONFIGS["laptop"]
C1 = replace(lap, length=(2.5, 10.5), unseen_length=(11.0, 14.0), ksize=17, map_ksize=13)
E1 = replace(C1, n_sharp=1536, n_blurry=1536, steps=512, refresh=64)
CANDIDATES = [("C2 (round 1: C1, 512 steps)", replace(C1, steps=512)), ("E1 C1, 1536 crops, 512 steps", E1),
              ("E2 E1, batch 16", replace(E1, batch=16)), ("E3 E1, UNet-16", replace(E1, r_width=16))]


def v3_step_seconds(cfg) -> float:
    "CPU seconds per V3 step with SE running (warm-up 0), over 10 steps on calibration id 960."
    dom = make_domains(replace(cfg, n_sharp=32, n_blurry=32, n_test=4), 960)
    t0 = time.process_time()
    train_arm(replace(cfg, steps=10, warmup=0.0), ARMS["V3"], dom, 960)
    return (time.process_time() - t0) / 10


v3_step_seconds(lap)  # warm-up call
base_step = v3_step_seconds(lap)
for label, cfg in CANDIDATES:
    t0 = time.process_time()
    gains, train_gains, inputs = [], [], []
    for seed in IDS:
        dom = make_domains(cfg, seed)
        t = train_arm(cfg, ARMS["VS"], dom, seed)
        inp = psnr(dom.test_blurry, dom.test_sharp, border=cfg.border).mean().item()
        gains.append(evaluate(t, dom, cfg, seed)["psnr"] - inp)
        inputs.append(inp)
        b, s = dom.true_pairs
        train_gains.append((psnr(restore(t.R, b[:64]), s[:64], border=cfg.border)
                            - psnr(b[:64], s[:64], border=cfg.border)).mean().item())
    cpu = time.process_time() - t0
    est = 569 * v3_step_seconds(cfg) / base_step * (0.3 + 0.7 * cfg.steps / 256)
    print(f"{label}: VS − input {np.mean(gains):+.2f} dB (ids {[round(g, 2) for g in gains]}; input {np.mean(inputs):.2f} dB); "
          f"VS − input on its training pairs {np.mean(train_gains):+.2f} dB; estimated laptop CPU {est:.0f} s; probe CPU {cpu:.0f} s", flush=True)
