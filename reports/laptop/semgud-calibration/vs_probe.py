"Calibration (id 950, never pinned): how far the supervised ceiling VS rises above the blurry input with more steps / larger crops."
import time
from dataclasses import replace
import torch
from cvkit.papers.semgud import CONFIGS, ARMS, make_domains, train_arm, evaluate
from cvkit.core.imaging import psnr
torch.set_num_threads(1)
lap = CONFIGS["laptop"]
for label, cfg in [("32px 256 steps", lap), ("32px 1024 steps", replace(lap, steps=1024)),
                   ("64px 256 steps", replace(lap, crop=64, side=192, border=8)),
                   ("64px 1024 steps", replace(lap, steps=1024, crop=64, side=192, border=8))]:
    dom = make_domains(cfg, 950)
    t0 = time.process_time()
    t = train_arm(cfg, ARMS["VS"], dom, 950)
    ev = evaluate(t, dom, cfg, 950)
    inp = psnr(dom.test_blurry, dom.test_sharp, border=cfg.border).mean().item()
    print(f"{label}: VS − input {ev['psnr'] - inp:+.2f} dB (VS {ev['psnr']:.2f}, input {inp:.2f}); CPU {time.process_time() - t0:.0f} s", flush=True)
