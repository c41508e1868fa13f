"""FocusMAE lesion-contrast calibration, rerunnable with the chapter's current code (review item 13).

The lesion contrast is fixed once on the random-tube arm alone, at a calibration seed disjoint from every reported run
(reported runs use SEED 0 and 1: cohort seeds 1, 2, 11, 12 and pretraining seeds 0-4, 1000-1004). For each contrast
this pretrains random tube at laptop sizes, probes it on 3 patient-disjoint folds and fine-tunes it on fold 0, as the
original calibration did. No Focus arm is run.

Usage (one core, about 2 minutes of CPU per contrast):
    OMP_NUM_THREADS=1 python reports/laptop/focusmae-calibration/calibrate.py [--seed 100] [--contrasts 1.5 2.0 2.5]

The committed calibration.md came from an early draft whose cohorts were drawn with seeds 100/101; this script uses
the chapter's convention (cohort seeds 10·seed + 1 and 10·seed + 2), so its numbers are not those of calibration.md.
"""
import argparse
import time
from dataclasses import replace

import numpy as np
import torch

from cvkit.papers.focusmae import (CONFIGS, Masking, binary_metrics, clip_features, finetune, make_cohort, patient_folds,
                                   predict_proba, pretrain, probe_accuracy, roi_tokens, stack_clips, standardise)


def calibrate(contrast: float, *, seed: int) -> dict:
    "One contrast: random-tube pretraining, probe on 3 folds, fine-tuning on fold 0 (laptop sizes)."
    cfg = CONFIGS["laptop"]
    spec = replace(cfg.cine, lesion_contrast=contrast)
    unlabelled = make_cohort(spec, cfg.n_unlabelled, seed=10 * seed + 1)
    labelled = make_cohort(spec, cfg.n_labelled, seed=10 * seed + 2)
    U, L = standardise(stack_clips(unlabelled)), standardise(stack_clips(labelled))
    labels, patients = np.array([c.label for c in labelled]), np.array([c.patient for c in labelled])
    roi = torch.from_numpy(np.stack([roi_tokens(np.zeros((0, 4)), size=spec.size, patch=cfg.patch)] * len(U)))
    folds = patient_folds(labels, patients, k=cfg.folds, seed=seed)
    t0 = time.process_time()
    pre = pretrain(U, roi, Masking("tube"), model_kw=cfg.model_kw, steps=cfg.pretrain_steps, batch=cfg.batch,
                   ratio=cfg.ratio, lr=cfg.lr, seed=seed, progress=False)
    t_pre = time.process_time() - t0
    probe = probe_accuracy(clip_features(pre.model, L), labels, folds)
    tr, te = folds[0]
    t0 = time.process_time()
    net = finetune(pre.model.state_dict(), L[tr], labels[tr], model_kw=cfg.model_kw, steps=cfg.finetune_steps,
                   batch=cfg.batch, lr=cfg.finetune_lr, seed=seed)
    t_ft = time.process_time() - t0
    metrics = binary_metrics(labels[te], predict_proba(net, L[te]) > 0.5)
    return {"contrast": contrast, "pretrain CPU s": round(t_pre, 1), "probe per fold": np.round(probe, 2).tolist(),
            "fine-tune CPU s": round(t_ft, 1), **{k: round(v, 3) for k, v in metrics.items()}}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--contrasts", type=float, nargs="+", default=[1.5, 2.0, 2.5])
    args = ap.parse_args()
    if args.seed in (0, 1):
        raise SystemExit("--seed must be disjoint from the reported runs (SEED 0 and 1)")
    torch.set_num_threads(1)
    rows = [calibrate(c, seed=args.seed) for c in args.contrasts]
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for r in rows:
        print("| " + " | ".join(str(v) for v in r.values()) + " |")
    best = min(rows, key=lambda r: abs(r["accuracy"] - 0.8))
    print(f"closest to the issue's 80 % fine-tuned accuracy on the random-tube arm: contrast {best['contrast']}")
