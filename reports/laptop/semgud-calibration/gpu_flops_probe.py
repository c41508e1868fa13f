import time
from dataclasses import replace
import torch
from cvkit.papers.semgud import CONFIGS, ARMS, make_domains, run_replicate, step_flops, compute_matched_steps, train_arm
t0=time.time()
gpu = CONFIGS["gpu"]
tiny = replace(gpu, n_sharp=8, n_blurry=8, n_test=2, n_map=1, steps=3, batch=2, refresh=1, replicates=2, bench_side=64)
dom = make_domains(tiny, 20); print("domains", time.time()-t0)
f1 = step_flops(tiny, ARMS["V1"], dom); f3 = step_flops(tiny, ARMS["V3"], dom); print("flops", time.time()-t0, f1, f3)
v1c = compute_matched_steps(tiny, f1, f3); print("v1c", v1c)
rows, kept, dom, base = run_replicate(tiny, 20, arms=tiny.arms, v1c_steps=v1c, n_map=1, keep=True, device="cpu")
print("replicate", time.time()-t0)
import pandas as pd
print(pd.DataFrame(rows)[["method","psnr","fd","seconds"]])
