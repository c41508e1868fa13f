"""Side report (review M2): the non-blind oracles on the wide blurred context, scored on the centre, as blind MAP is.

The chapter's oracles (Richardson–Lucy in linear light, Wiener, unsupervised Wiener, all with the true kernel) see the
32-px test crop padded by reflection; blind MAP sees the wide crop (the crop plus its blurred margin of ksize // 2 px).
This script rebuilds SEED 0's laptop test sets (replicates 10–14, `make_domains`, the same streams as the committed
run) and scores each oracle both ways on all 24 test crops per replicate: "padded" must reproduce the committed
report's oracle − input gains (RL −0.40, Wiener +0.45, unsupervised Wiener −1.23 dB, mean over replicates), "wide"
runs the same oracle on `test_blurry_wide` and scores its centre. Blended two-kernel crops (about 10 %) keep the first
kernel in both variants: the domains do not record which crops are blended, so that handicap is not separated here.
Nothing in the chapter, its configs or its claims changes; this is a report, not a calibration (it chooses nothing).
Run from the repository root: OMP_NUM_THREADS=1 python reports/laptop/semgud-oracle-context/oracle_context.py
"""
import numpy as np
from scipy import stats
from skimage.restoration import wiener

from cvkit.core.claims import replicate_seeds
from cvkit.papers.semgud import (CONFIGS, FIRST_REPLICATE, _psnr_np, make_domains, numpy_stream, rl_linear,
                                 uwiener_oracle)

ORACLES = ("RL oracle", "Wiener oracle", "unsupervised Wiener oracle")


def gains(seed: int) -> dict[str, float]:
    "Mean PSNR gain over the blurry input of each oracle, padded and wide, on one replicate's 24 test crops."
    cfg = CONFIGS["laptop"]
    dom = make_domains(cfg, seed)
    m = cfg.ksize // 2
    rng_pad, rng_wide = numpy_stream(seed, "uwiener"), numpy_stream(seed, "uwiener")
    out: dict[str, list[float]] = {}
    for b, wide, s, k in zip(dom.test_blurry[:, 0].double().numpy(), dom.test_blurry_wide[:, 0].double().numpy(),
                             dom.test_sharp, dom.test_kernels):
        base = _psnr_np(b, s, cfg.border)
        for variant, x, rng in (("padded", np.pad(b, m, mode="reflect"), rng_pad), ("wide", wide, rng_wide)):
            restored = {"RL oracle": rl_linear(x, k), "Wiener oracle": wiener(x, k, balance=0.02, clip=True),
                        "unsupervised Wiener oracle": uwiener_oracle(x, k, rng=rng)}
            for name, r in restored.items():
                out.setdefault(f"{name} {variant}", []).append(_psnr_np(r[m:-m, m:-m], s, cfg.border) - base)
    return {key: float(np.mean(v)) for key, v in out.items()}


def main() -> None:
    seeds = [s + FIRST_REPLICATE["laptop"] for s in replicate_seeds(0, CONFIGS["laptop"].replicates)]
    per = {seed: gains(seed) for seed in seeds}
    print(f"replicates {seeds}; oracle − blurry input (dB), mean over 24 test crops per replicate")
    for name in ORACLES:
        pad = np.array([per[s][f"{name} padded"] for s in seeds])
        wide = np.array([per[s][f"{name} wide"] for s in seeds])
        d = wide - pad
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
        print(f"{name}: padded {pad.mean():+.2f} (replicates {np.round(pad, 2).tolist()}), wide {wide.mean():+.2f} "
              f"(replicates {np.round(wide, 2).tolist()}); wide − padded {d.mean():+.2f} dB "
              f"[{d.mean() - half:+.2f}, {d.mean() + half:+.2f}] (t, n = {len(d)})")


if __name__ == "__main__":
    main()
