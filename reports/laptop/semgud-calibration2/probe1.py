"Calibration round 1 (ids 970–973; never pinned or reported): the supervised ceiling VS − input for rule1.md's candidates."
import time
from dataclasses import replace
import numpy as np
import torch
from cvkit.papers.semgud import CONFIGS, ARMS, make_domains, train_arm, restore, rl_linear
from cvkit.core.imaging import psnr
torch.set_num_threads(1)
IDS = (970, 971, 972, 973)
lap = CONFIGS["laptop"]
CANDIDATES = [("P0 side 128, 256 steps (committed)", lap), ("P1 side 256, 256 steps", replace(lap, side=256)),
              ("P2 side 384, 256 steps", replace(lap, side=384)),
              ("P3 side 256, 384 steps", replace(lap, side=256, steps=384, refresh=48)),
              ("P4 side 384, 384 steps", replace(lap, side=384, steps=384, refresh=48)),
              ("P5 side 256, 512 steps", replace(lap, side=256, steps=512, refresh=64)),
              ("P6 side 384, 512 steps", replace(lap, side=384, steps=512, refresh=64))]


def rl_gain(dom, cfg) -> float:
    "RL oracle (true kernel, linear light, reflect-padded as in classical_baselines) − input, dB, mean over test crops."
    m, g = cfg.ksize // 2, []
    for b, s, k in zip(dom.test_blurry[:, 0].double().numpy(), dom.test_sharp, dom.test_kernels):
        x = torch.as_tensor(rl_linear(np.pad(b, m, mode="reflect"), k)[m:-m, m:-m], dtype=torch.float32)[None, None]
        g.append((psnr(x.clamp(0, 1), s[None], border=cfg.border) - psnr(torch.as_tensor(b, dtype=torch.float32)[None, None], s[None], border=cfg.border)).item())
    return float(np.mean(g))


for label, cfg in CANDIDATES:
    t0 = time.process_time()
    gains, gains8, train_gains, inputs, rls = [], [], [], [], []
    for seed in IDS:
        dom = make_domains(cfg, seed)
        t = train_arm(cfg, ARMS["VS"], dom, seed)
        out = restore(t.R, dom.test_blurry)
        inp = psnr(dom.test_blurry, dom.test_sharp, border=cfg.border).mean().item()
        gains.append(psnr(out, dom.test_sharp, border=cfg.border).mean().item() - inp)
        gains8.append((psnr(out, dom.test_sharp, border=8) - psnr(dom.test_blurry, dom.test_sharp, border=8)).mean().item())
        inputs.append(inp)
        b, s = dom.true_pairs
        train_gains.append((psnr(restore(t.R, b[:64]), s[:64], border=cfg.border) - psnr(b[:64], s[:64], border=cfg.border)).mean().item())
        rls.append(rl_gain(dom, cfg))
    est = 403 * (0.1 + 0.9 * cfg.steps / 256)
    print(f"{label}: VS − input {np.mean(gains):+.2f} dB (ids {[round(g, 2) for g in gains]}; input {np.mean(inputs):.2f} dB); "
          f"border 8 {np.mean(gains8):+.2f} dB; on its training pairs {np.mean(train_gains):+.2f} dB; RL oracle − input "
          f"{np.mean(rls):+.2f} dB; estimated laptop CPU {est:.0f} s; probe CPU {time.process_time() - t0:.0f} s", flush=True)
