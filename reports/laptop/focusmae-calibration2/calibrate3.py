"""FocusMAE session-9 calibration, part 3: VideoMAE's fc_norm head at the laptop's 360 fine-tuning steps, both arms.

Why: part 2 (calibrate2.py, calibrate2.out) found that no recipe of 120 or 180 steps leaves the loss plateau
(fc_norm at lr 1e-3 or 2e-3: most fine-tunings end at 0.50-0.57), so 3-fold fine-tuning of both arms on five seeds
does not fit one core's 15 minutes with a fine-tuning that learns (30 fine-tunings at 360 steps, ~27 s each, are
~810 s alone). The laptop design therefore keeps 360 steps and one fine-tuned fold per seed; the open question is
only the head. Same calibration seed as part 2 (102: cohorts 1021/1022, 600 labelled clips, pretraining seeds
102000 and 102001, their own 3 folds of 200 test clips), disjoint from every reported run.

Fixed before this script ran (committed with it; this script only measures):
  Measure fc_norm (LayerNorm on the pooled vector), 360 steps, lr 1e-3, batch 8, on both arms (random tube,
  Focus-tube delta = 2) x 2 seeds x 3 folds (12 fine-tunings), fine-tuning seed = pretraining seed + 17 x fold
  (as the chapter). Compare with part 2's R0 (plain head, 360 steps, random tube, same seeds and folds).
  Rule:
    1. The laptop adopts fc_norm if its random-tube at-chance count (test accuracy <= 0.55) over the 6 tube
       fine-tunings is lower than R0's, or equal with a higher random-tube mean; otherwise it keeps the plain head.
    2. Whatever the head: laptop fine-tuning stays 360 steps on the first fold of each seed's 3 folds, with
       n_labelled = 600 (test folds of 200 instead of 100: half the binomial variance; training folds of 400).
  Reported, not in the choice: the paired Focus - tube differences per (seed, fold) and their SD, and the n of
  seeds that a 2-point threshold would need at that SD if the true difference were 0 or +5 points. The choice never
  looks at the sign or size of Focus - tube.

Usage (one core, about 7 minutes):  OMP_NUM_THREADS=1 python reports/laptop/focusmae-calibration2/calibrate3.py
"""
import time
from dataclasses import replace

import numpy as np
import torch

from cvkit.core.claims import numpy_stream
from cvkit.papers.focusmae import (CONFIGS, Masking, binary_metrics, finetune, make_cohort, noisy_boxes, patient_folds,
                                   predict_proba, pretrain, roi_tokens, stack_clips, standardise)

CAL = 102
SEEDS = (1000 * CAL, 1000 * CAL + 1)


def log(msg: str) -> None:
    print(f"[{time.process_time():7.1f} s CPU] {msg}", flush=True)


def main() -> None:
    torch.set_num_threads(1)
    cfg = replace(CONFIGS["laptop"], n_labelled=600)
    unlabelled = make_cohort(cfg.cine, cfg.n_unlabelled, seed=10 * CAL + 1)
    labelled = make_cohort(cfg.cine, cfg.n_labelled, seed=10 * CAL + 2)
    U, L = standardise(stack_clips(unlabelled)), standardise(stack_clips(labelled))
    labels, patients = np.array([c.label for c in labelled]), np.array([c.patient for c in labelled])
    box_rng = numpy_stream(CAL, "detector")
    mid = cfg.cine.frames // 2
    roi = torch.from_numpy(np.stack([roi_tokens(noisy_boxes(c.gb_box[mid:mid + 1], size=cfg.cine.size, rng=box_rng)[0],
                                                size=cfg.cine.size, patch=cfg.patch, inflate=cfg.inflate)
                                     for c in unlabelled]))
    kw = dict(model_kw=cfg.model_kw, steps=cfg.pretrain_steps, batch=cfg.batch, ratio=cfg.ratio, lr=cfg.lr,
              progress=False)
    arms = (Masking("tube"), Masking("tube", cfg.delta))
    acc = np.zeros((len(SEEDS), cfg.folds, 2))
    for i, seed in enumerate(SEEDS):
        states = [pretrain(U, roi, arm, seed=seed, **kw).model.state_dict() for arm in arms]
        for f, (tr, te) in enumerate(patient_folds(labels, patients, k=cfg.folds, seed=seed)):
            for a, state in enumerate(states):
                net = finetune(state, L[tr], labels[tr], model_kw=cfg.model_kw, steps=360, batch=cfg.batch,
                               lr=1e-3, seed=seed + 17 * f, fc_norm=True)
                acc[i, f, a] = binary_metrics(labels[te], predict_proba(net, L[te]) > 0.5)["accuracy"]
            log(f"fc_norm 360 seed {seed} fold {f}: tube {acc[i, f, 0]:.3f}  Focus {acc[i, f, 1]:.3f}  "
                f"diff {100 * (acc[i, f, 1] - acc[i, f, 0]):+.1f}")
    tube = acc[..., 0].ravel()
    diff = 100 * (acc[..., 1] - acc[..., 0]).ravel()
    sd = diff.std(ddof=1)
    log(f"SUMMARY fc_norm 360: tube at chance {int((tube <= 0.55).sum())} of 6, tube mean {tube.mean():.3f}; "
        f"Focus at chance {int((acc[..., 1] <= 0.55).sum())} of 6, Focus mean {acc[..., 1].mean():.3f}; "
        f"SD of paired diff per (seed, fold) {sd:.2f} points; seeds for a 95 % half-width of 2 points "
        f"(true diff 0): {int(np.ceil((1.96 * sd / 2) ** 2))}, of 3 points (true +5): {int(np.ceil((1.96 * sd / 3) ** 2))}")


if __name__ == "__main__":
    main()
