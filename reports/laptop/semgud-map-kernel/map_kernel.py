"""Side report (review M3): does blind MAP's kernel estimate do any work on the laptop crops?

On SEED 0's laptop test sets (replicates 10–14, `make_domains`, the same streams as the committed run) and on blind
MAP's crops (the first cfg.n_map = 8 per replicate), this script prints, per replicate, mean PSNR gains over the
blurry input (centre-scored, inside the chapter's border) of
  - blind MAP with the laptop settings (`blind_map` on the wide crop; must reproduce the report's −0.29 dB on average),
  - the same final step with the TRUE kernel: Richardson–Lucy in linear light, cfg.map_rl_iters (5) iterations, on the
    wide crop (`rl_linear`), i.e. blind MAP with a perfect kernel estimate,
and the kernel similarity: the largest normalised cross-correlation over all shifts between MAP's 13×13 estimate and
the true 17×17 kernel (1 = the same shape up to a shift), beside that of a single-point kernel (what "return the
input" would estimate). A report: nothing in the chapter, its configs or claims changes, and it chooses nothing.
Run from the repository root: OMP_NUM_THREADS=1 python reports/laptop/semgud-map-kernel/map_kernel.py
"""
import numpy as np
from scipy.signal import correlate2d

from cvkit.core.claims import replicate_seeds
from cvkit.papers.semgud import CONFIGS, FIRST_REPLICATE, _psnr_np, blind_map, make_domains, rl_linear


def similarity(estimate: np.ndarray, truth: np.ndarray) -> float:
    "Max over shifts of <estimate, shifted truth> / (|estimate| |truth|): (a, a) and (b, b) kernels → [0, 1]."
    return float(correlate2d(truth, estimate, mode="full").max() / (np.linalg.norm(estimate) * np.linalg.norm(truth)))


def main() -> None:
    cfg = CONFIGS["laptop"]
    m = cfg.ksize // 2
    seeds = [s + FIRST_REPLICATE["laptop"] for s in replicate_seeds(0, cfg.replicates)]
    rows = []
    for seed in seeds:
        dom = make_domains(cfg, seed)
        g_map, g_true, sim_map, sim_point = [], [], [], []
        for i in range(cfg.n_map):
            wide = dom.test_blurry_wide[i, 0].double().numpy()
            b, s, k = dom.test_blurry[i, 0].double().numpy(), dom.test_sharp[i], dom.test_kernels[i]
            base = _psnr_np(b, s, cfg.border)
            restored, k_est = blind_map(wide, cfg)
            g_map.append(_psnr_np(restored[m:-m, m:-m], s, cfg.border) - base)
            g_true.append(_psnr_np(rl_linear(wide, k, num_iter=cfg.map_rl_iters)[m:-m, m:-m], s, cfg.border) - base)
            sim_map.append(similarity(k_est, k))
            sim_point.append(similarity(np.ones((1, 1)), k))
        rows.append((np.mean(g_map), np.mean(g_true), np.mean(sim_map), np.mean(sim_point)))
        print(f"replicate {seed}: blind MAP − input {rows[-1][0]:+.2f} dB, RL-{cfg.map_rl_iters} with the true kernel − input "
              f"{rows[-1][1]:+.2f} dB; kernel similarity MAP {rows[-1][2]:.3f}, single point {rows[-1][3]:.3f}")
    r = np.array(rows)
    print(f"mean over replicates ({len(seeds)} × {cfg.n_map} crops): blind MAP − input {r[:, 0].mean():+.2f} dB, "
          f"RL-{cfg.map_rl_iters} true kernel − input {r[:, 1].mean():+.2f} dB (true − MAP {r[:, 1].mean() - r[:, 0].mean():+.2f} dB); "
          f"kernel similarity MAP {r[:, 2].mean():.3f}, single point {r[:, 3].mean():.3f}")


if __name__ == "__main__":
    main()
