"Calibration (ids 930–931, never pinned): blind MAP on the wide blurry test crops (kernel 23), its prior weight map_gamma."
import numpy as np
from dataclasses import replace
from cvkit.papers.semgud import CONFIGS, make_domains, classical_baselines
lap = replace(CONFIGS["laptop"], n_test=16, n_sharp=8, n_blurry=8)
doms = [make_domains(lap, s) for s in (930, 931)]
for gamma in (20.0, 200.0, 2000.0):
    cfg = replace(lap, map_gamma=gamma)
    gains, secs = [], []
    for d in doms:
        base = classical_baselines(d, cfg, n_map=16)
        gains.append(float(base["blind MAP"].mean() - base["input"].mean())); secs.append(base["MAP seconds"].mean())
    print(f"map_gamma {gamma:g}: blind MAP − input {np.round(gains, 2).tolist()} dB (ids 930, 931), {np.mean(secs):.2f} s per crop", flush=True)
