"Calibration (ids 960, 961; never pinned or reported): the supervised ceiling VS − blurry input for the committed laptop design and the candidates of ceiling_rule.md."
import time
from dataclasses import replace
import numpy as np
import torch
from cvkit.papers.semgud import CONFIGS, ARMS, make_domains, train_arm, evaluate, restore, rl_linear
from cvkit.core.imaging import psnr
torch.set_num_threads(1)
IDS = (960, 961)
lap = CONFIGS["laptop"]
C1 = replace(lap, length=(2.5, 10.5), unseen_length=(11.0, 14.0), ksize=17, map_ksize=13)
CANDIDATES = [("committed (32 px, 5–21 px)", lap), ("committed, lr 3e-3", replace(lap, lr=3e-3)),
              ("C1 32 px, 2.5–10.5 px", C1), ("C2 = C1, 512 steps", replace(C1, steps=512)),
              ("C3 48 px, 3.75–15.75 px", replace(lap, crop=48, side=192, border=6, length=(3.75, 15.75),
                                                  unseen_length=(16.5, 21.0), ksize=23, map_ksize=19)),
              ("C4 64 px, 5–21 px", replace(lap, crop=64, side=192, border=8))]


def v3_step_seconds(cfg) -> float:
    "CPU seconds per V3 step with SE running (warm-up 0), over 10 steps on calibration id 960."
    dom = make_domains(replace(cfg, n_sharp=32, n_blurry=32, n_test=4), 960)
    t0 = time.process_time()
    train_arm(replace(cfg, steps=10, warmup=0.0), ARMS["V3"], dom, 960)
    return (time.process_time() - t0) / 10


v3_step_seconds(lap)  # warm-up: the first call pays one-off costs (a first run printed 165 s for the committed design)
base_step = v3_step_seconds(lap)
for label, cfg in CANDIDATES:
    t0 = time.process_time()
    gains, train_gains, rl_gains, inputs = [], [], [], []
    for seed in IDS:
        dom = make_domains(cfg, seed)
        t = train_arm(cfg, ARMS["VS"], dom, seed)
        inp = psnr(dom.test_blurry, dom.test_sharp, border=cfg.border).mean().item()
        gains.append(evaluate(t, dom, cfg, seed)["psnr"] - inp)
        inputs.append(inp)
        b, s = dom.true_pairs
        train_gains.append((psnr(restore(t.R, b[:64]), s[:64], border=cfg.border)
                            - psnr(b[:64], s[:64], border=cfg.border)).mean().item())
        m = cfg.ksize // 2
        rl = [psnr(torch.as_tensor(rl_linear(np.pad(bb, m, mode="reflect"), k)[m:-m, m:-m], dtype=torch.float32)[None, None],
                   ss[None].float(), border=cfg.border).item()
              for bb, ss, k in zip(dom.test_blurry[:, 0].double().numpy(), dom.test_sharp, dom.test_kernels)]
        rl_gains.append(np.mean(rl) - inp)
    cpu = time.process_time() - t0
    est = 569 * v3_step_seconds(cfg) / base_step
    print(f"{label}: VS − input {np.mean(gains):+.2f} dB (ids {[round(g, 2) for g in gains]}; input {np.mean(inputs):.2f} dB); "
          f"VS − input on its training pairs {np.mean(train_gains):+.2f} dB; RL oracle − input {np.mean(rl_gains):+.2f} dB; "
          f"estimated laptop CPU {est:.0f} s; probe CPU {cpu:.0f} s", flush=True)
