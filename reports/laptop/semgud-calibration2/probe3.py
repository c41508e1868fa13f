"Calibration round 3 (ids 970–973; never pinned or reported): VS − input for rule3.md's candidates."
import time
from dataclasses import replace
import numpy as np
import torch
import cvkit.papers.semgud as sg
from cvkit.core.imaging import psnr
torch.set_num_threads(1)
IDS = (970, 971, 972, 973)
lap = sg.CONFIGS["laptop"]
L21 = dict(length=(5.0, 21.0), unseen_length=(22.0, 28.0), ksize=31, map_ksize=23)
L16 = dict(length=(3.75, 15.75), unseen_length=(16.5, 21.0), ksize=23, map_ksize=19)
CANDIDATES = [("R4 side 384, 256 steps, 5–21 px", replace(lap, side=384, **L21), 169),
              ("R3 side 384, 384 steps, 3.75–15.75 px", replace(lap, side=384, steps=384, refresh=48, **L16), 98),
              ("R1 side 384, 384 steps, 5–21 px", replace(lap, side=384, steps=384, refresh=48, **L21), 169),
              ("R2 side 256, 384 steps, 5–21 px", replace(lap, side=256, steps=384, refresh=48, **L21), 169)]


def rl_gain(dom, cfg) -> float:
    "RL oracle (true kernel, linear light, reflect-padded as in classical_baselines) − input, dB, mean over test crops."
    m, g = cfg.ksize // 2, []
    for b, s, k in zip(dom.test_blurry[:, 0].double().numpy(), dom.test_sharp, dom.test_kernels):
        x = torch.as_tensor(sg.rl_linear(np.pad(b, m, mode="reflect"), k)[m:-m, m:-m], dtype=torch.float32)[None, None]
        g.append((psnr(x.clamp(0, 1), s[None], border=cfg.border) - psnr(torch.as_tensor(b, dtype=torch.float32)[None, None], s[None], border=cfg.border)).item())
    return float(np.mean(g))


for label, cfg, rest in CANDIDATES:
    t0 = time.process_time()
    gains, train_gains, inputs, rls = [], [], [], []
    for seed in IDS:
        dom = sg.make_domains(cfg, seed)
        t = sg.train_arm(cfg, sg.ARMS["VS"], dom, seed)
        inp = psnr(dom.test_blurry, dom.test_sharp, border=cfg.border).mean().item()
        gains.append(psnr(sg.restore(t.R, dom.test_blurry), dom.test_sharp, border=cfg.border).mean().item() - inp)
        inputs.append(inp)
        b, s = dom.true_pairs
        train_gains.append((psnr(sg.restore(t.R, b[:64]), s[:64], border=cfg.border) - psnr(b[:64], s[:64], border=cfg.border)).mean().item())
        rls.append(rl_gain(dom, cfg))
    est = rest + 377 * cfg.steps / 256
    print(f"{label}: VS − input {np.mean(gains):+.2f} dB (ids {[round(g, 2) for g in gains]}; input {np.mean(inputs):.2f} dB); "
          f"on its training pairs {np.mean(train_gains):+.2f} dB; RL oracle − input {np.mean(rls):+.2f} dB; "
          f"estimated laptop CPU {est:.0f} s; probe CPU {time.process_time() - t0:.0f} s", flush=True)
