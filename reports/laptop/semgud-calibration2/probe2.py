"Calibration round 2 (ids 970–973; never pinned or reported): VS − input for rule2.md's candidates."
import time
from dataclasses import replace
from functools import partial
import numpy as np
import torch
import cvkit.papers.semgud as sg
from cvkit.core.claims import numpy_stream
from cvkit.core.imaging import camera_blur, psnr
torch.set_num_threads(1)
IDS = (970, 971, 972, 973)
lap = sg.CONFIGS["laptop"]
big = dict(n_sharp=1536, n_blurry=1536)
CANDIDATES = [("Q1 side 384, 384 steps, 1536 crops", replace(lap, side=384, steps=384, refresh=48, **big), 2000.0),
              ("Q2 side 384, 384 steps, photons 1e4", replace(lap, side=384, steps=384, refresh=48), 1e4),
              ("Q3 side 384, 384 steps, 1536 crops, photons 1e4", replace(lap, side=384, steps=384, refresh=48, **big), 1e4),
              ("Q4 side 512, 384 steps, 1536 crops, photons 1e4", replace(lap, side=512, steps=384, refresh=48, **big), 1e4),
              ("Q5 side 384, 512 steps, 1536 crops, photons 1e4", replace(lap, side=384, steps=512, refresh=64, **big), 1e4),
              ("Q6 side 512, 512 steps, 1536 crops, photons 1e4", replace(lap, side=512, steps=512, refresh=64, **big), 1e4)]


def fresh_gain(R, cfg, seed) -> float:
    "VS − input on 64 new crops of the sharp photos with new kernels (not VS's training pairs)."
    rng = numpy_stream(seed, "fresh")
    S = [sg.load_photo(p, side=cfg.side) for p in sg.SHARP_PHOTOS]
    m = cfg.ksize // 2
    wide = sg.random_crops(S, 64, cfg.crop + 2 * m, rng=rng)
    b, _ = sg.realistic_blur(wide, rng=rng, length=cfg.length, ksize=cfg.ksize)
    s = wide[..., m:-m, m:-m]
    return (psnr(sg.restore(R, b), s, border=cfg.border) - psnr(b, s, border=cfg.border)).mean().item()


def rl_gain(dom, cfg) -> float:
    "RL oracle (true kernel, linear light, reflect-padded as in classical_baselines) − input, dB, mean over test crops."
    m, g = cfg.ksize // 2, []
    for b, s, k in zip(dom.test_blurry[:, 0].double().numpy(), dom.test_sharp, dom.test_kernels):
        x = torch.as_tensor(sg.rl_linear(np.pad(b, m, mode="reflect"), k)[m:-m, m:-m], dtype=torch.float32)[None, None]
        g.append((psnr(x.clamp(0, 1), s[None], border=cfg.border) - psnr(torch.as_tensor(b, dtype=torch.float32)[None, None], s[None], border=cfg.border)).item())
    return float(np.mean(g))


for label, cfg, photons in CANDIDATES:
    sg.camera_blur = partial(camera_blur, photons=photons)
    t0 = time.process_time()
    gains, fresh, train_gains, inputs, rls = [], [], [], [], []
    for seed in IDS:
        dom = sg.make_domains(cfg, seed)
        t = sg.train_arm(cfg, sg.ARMS["VS"], dom, seed)
        inp = psnr(dom.test_blurry, dom.test_sharp, border=cfg.border).mean().item()
        gains.append(psnr(sg.restore(t.R, dom.test_blurry), dom.test_sharp, border=cfg.border).mean().item() - inp)
        inputs.append(inp)
        b, s = dom.true_pairs
        train_gains.append((psnr(sg.restore(t.R, b[:64]), s[:64], border=cfg.border) - psnr(b[:64], s[:64], border=cfg.border)).mean().item())
        fresh.append(fresh_gain(t.R, cfg, seed))
        rls.append(rl_gain(dom, cfg))
    est = 403 * (0.1 + 0.9 * cfg.steps / 256)
    print(f"{label}: VS − input {np.mean(gains):+.2f} dB (ids {[round(g, 2) for g in gains]}; input {np.mean(inputs):.2f} dB); "
          f"on its training pairs {np.mean(train_gains):+.2f} dB; on fresh sharp-photo crops {np.mean(fresh):+.2f} dB; RL oracle − input "
          f"{np.mean(rls):+.2f} dB; estimated laptop CPU {est:.0f} s; probe CPU {time.process_time() - t0:.0f} s", flush=True)
