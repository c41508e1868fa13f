"""FocusMAE session-10 calibration: a fine-tuning recipe that is less unstable, chosen on the random-tube arm alone.

Why: at laptop the central claim (Focus-tube - random tube >= +2 points fine-tuned accuracy) is undecided,
+1.6 [-10.8, +14.0] over n = 5 pretraining seeds (SEED 0, 9679fe2), per-seed SD 10.0; session 9's calibration
(focusmae-calibration2) traced the spread to the fine-tuning itself: the same encoder ends near chance or learns
depending on the fine-tuning seed (head, batch order, flips). The laptop fine-tunes at lr 1e-3, batch 8, with
none of VideoMAE's fine-tuning regularisers. VideoMAE's run_class_finetuning scales the base rate by batch/256
(FocusMAE's finetune.sh: lr 1e-3, batch 4, per the notes) and uses layer-wise rate decay (0.75 default; 0.7 in the
UCF101 script) and label smoothing 0.1. This calibration measures, on the random-tube arm only, how much the
fine-tuning seed alone moves the test accuracy under three recipes.

Calibration seed 103 only: cohorts 1031 (400 unlabelled) and 1032 (600 labelled), pretraining seeds 103000 and
103001 (random tube, 400 steps, the laptop's sizes), each with its own 3 patient-disjoint folds (fold 0 fine-tuned:
200 test clips). Disjoint from every reported run (SEEDs 0-4: cohorts 1-42, pretraining seeds 0-4004) and from the
calibration seeds 100-102 used before. The Focus arm is not pretrained here: the choice cannot see Focus - tube.

Recipes (360 steps, batch 8, fc_norm head, warm-up 10 % + cosine, AdamW wd 0.05, flips, as the laptop):
  R_cur: lr 1e-3 (the laptop now)
  R_ld:  lr 1e-3, layer-wise decay 0.75, label smoothing 0.1
  R_lo:  lr 5e-4, layer-wise decay 0.75, label smoothing 0.1
Each recipe fine-tunes each of the 2 encoders with 3 fine-tuning seeds (pretraining seed + 500 j, j = 0, 1, 2; j = 0
is the chapter's own fold-0 seed) on fold 0: 6 fine-tunings per recipe, 18 in all.

Statistics per recipe: at-chance count (test accuracy <= 0.55) of 6; mean accuracy; s_ft, the pooled within-encoder
SD over fine-tuning seeds (points; 4 degrees of freedom): the fine-tuning noise that enters each arm of the paired
difference independently.

Rule (fixed before this script ran; committed with it):
  1. Eligible: a recipe whose mean is >= R_cur's mean - 3 points.
  2. Among eligible recipes take the one with the fewest at-chance runs, then the smallest s_ft. R_cur is kept
     unless the chosen alternative has fewer at-chance runs than R_cur, or as many and s_ft <= 0.75 x R_cur's s_ft
     (a 4-df SD is noisy: a smaller change is not evidence).
  3. The laptop keeps one fine-tuned fold per pretraining seed and n = 5 seeds (each extra fold of both arms costs
     5 x 2 fine-tunings, ~270 s, against 789 s measured for the whole laptop run), unless the measured costs below
     show room; the chosen recipe costs the same steps.
  Reported, not in the choice: the predicted SD of the paired per-seed difference, sqrt(2) x s_ft (a lower bound:
  it leaves out the pretraining seed's own effect), and the n that would decide the claim at that SD if the true
  difference were 0 or +5 points (t interval half-width 2 or 3 points). Also timed (cost profile, one core): one
  random-tube pretraining of 400 steps, one AdaMAE pretraining of 200 steps (the laptop's AdaMAE arms), one
  fine-tuning + prediction of 200 clips, one linear probe (features of 600 clips + 3 folds).

Usage (one core, about 9 minutes):  OMP_NUM_THREADS=1 python reports/laptop/focusmae-calibration3/calibrate4.py
"""
import time
from dataclasses import replace

import numpy as np
import torch
from scipy import stats as st

from cvkit.core.claims import numpy_stream
from cvkit.papers.focusmae import (CONFIGS, Masking, binary_metrics, clip_features, finetune, make_cohort, noisy_boxes,
                                   patient_folds, predict_proba, pretrain, probe_accuracy, roi_tokens, stack_clips,
                                   standardise)

CAL = 103
SEEDS = (1000 * CAL, 1000 * CAL + 1)
FT_SEEDS = 3
RECIPES = {"R_cur": dict(lr=1e-3), "R_ld": dict(lr=1e-3, layer_decay=0.75, label_smoothing=0.1),
           "R_lo": dict(lr=5e-4, layer_decay=0.75, label_smoothing=0.1)}


def log(msg: str) -> None:
    print(f"[{time.process_time():7.1f} s CPU] {msg}", flush=True)


def pooled_sd(acc: np.ndarray) -> float:
    "(encoders, fine-tuning seeds) accuracies in points → the pooled within-encoder SD."
    return float(np.sqrt(acc.var(axis=1, ddof=1).mean()))


def main() -> None:
    torch.set_num_threads(1)
    cfg = CONFIGS["laptop"]
    unlabelled = make_cohort(cfg.cine, cfg.n_unlabelled, seed=10 * CAL + 1)
    labelled = make_cohort(cfg.cine, cfg.n_labelled, seed=10 * CAL + 2)
    U, L = standardise(stack_clips(unlabelled)), standardise(stack_clips(labelled))
    labels, patients = np.array([c.label for c in labelled]), np.array([c.patient for c in labelled])
    box_rng = numpy_stream(CAL, "detector")
    mid = cfg.cine.frames // 2
    roi = torch.from_numpy(np.stack([roi_tokens(noisy_boxes(c.gb_box[mid:mid + 1], size=cfg.cine.size, rng=box_rng)[0],
                                                size=cfg.cine.size, patch=cfg.patch, inflate=cfg.inflate)
                                     for c in unlabelled]))
    log("cohorts drawn")
    kw = dict(model_kw=cfg.model_kw, batch=cfg.batch, ratio=cfg.ratio, lr=cfg.lr, progress=False)
    acc = {name: np.zeros((len(SEEDS), FT_SEEDS)) for name in RECIPES}
    cost = {}
    for i, seed in enumerate(SEEDS):
        t0 = time.process_time()
        state = pretrain(U, roi, Masking("tube"), steps=cfg.pretrain_steps, seed=seed, **kw).model
        cost.setdefault("tube pretraining, 400 steps", []).append(time.process_time() - t0)
        t0 = time.process_time()
        probe_accuracy(clip_features(state, L), labels, patient_folds(labels, patients, k=cfg.folds, seed=seed))
        cost.setdefault("linear probe (600 clips, 3 folds)", []).append(time.process_time() - t0)
        state = state.state_dict()
        tr, te = patient_folds(labels, patients, k=cfg.folds, seed=seed)[0]
        for name, recipe in RECIPES.items():
            for j in range(FT_SEEDS):
                t0 = time.process_time()
                net = finetune(state, L[tr], labels[tr], model_kw=cfg.model_kw, steps=cfg.finetune_steps,
                               batch=cfg.batch, seed=seed + 500 * j, fc_norm=True, **recipe)
                acc[name][i, j] = 100 * binary_metrics(labels[te], predict_proba(net, L[te]) > 0.5)["accuracy"]
                cost.setdefault("fine-tuning 360 steps + prediction of 200 clips", []).append(time.process_time() - t0)
                log(f"{name} encoder {seed} fine-tuning seed {seed + 500 * j}: tube accuracy {acc[name][i, j]:.1f}")
    t0 = time.process_time()
    pretrain(U, roi, Masking("adamae"), steps=200, seed=SEEDS[0], **kw)
    cost["AdaMAE pretraining, 200 steps"] = [time.process_time() - t0]

    stats = {}
    for name, a in acc.items():
        stats[name] = dict(chance=int((a <= 55.0).sum()), mean=float(a.mean()), sd=pooled_sd(a))
        log(f"SUMMARY {name} {RECIPES[name]}: at chance {stats[name]['chance']} of {a.size}, mean {stats[name]['mean']:.1f}, "
            f"s_ft {stats[name]['sd']:.2f} points; per encoder {np.round(a, 1).tolist()}")
    cur = stats["R_cur"]
    eligible = [n for n in RECIPES if stats[n]["mean"] >= cur["mean"] - 3.0]
    best = min(eligible, key=lambda n: (stats[n]["chance"], stats[n]["sd"]))
    if best != "R_cur" and not (stats[best]["chance"] < cur["chance"]
                                or (stats[best]["chance"] == cur["chance"] and stats[best]["sd"] <= 0.75 * cur["sd"])):
        best = "R_cur"
    log(f"RULE: eligible {eligible}; chosen {best} {RECIPES[best]}")
    for part, ts in cost.items():
        log(f"COST {part}: {np.mean(ts):.1f} s CPU (mean of {len(ts)})")
    sd_pair = np.sqrt(2) * stats[best]["sd"]
    for true, half in ((0.0, 2.0), (5.0, 3.0)):
        n = next(n for n in range(3, 10_000) if st.t.ppf(0.975, n - 1) * sd_pair / np.sqrt(n) <= half) if sd_pair > 0 else 3
        log(f"REPORT chosen recipe: predicted paired SD per seed >= {sd_pair:.1f} points; a true difference of "
            f"{true:+.0f} points is decided with about n = {n} seeds (t half-width {half:.0f} points)")


if __name__ == "__main__":
    main()
