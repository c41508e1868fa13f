"""FocusMAE variance split (session 10, gate review M2): how much of the central claim's per-seed spread is
fine-tuning luck, and which design would decide the claim most cheaply. No re-pin, no change of the laptop config.

Why: at laptop the central claim (Focus-tube - random tube >= +2 points, fine-tuned accuracy) is undecided at each of
SEEDs 0, 1, 2 and pooled over 15 pretraining seeds (+2.1 [-3.0, +7.2], per-seed SD 9.2). "More seeds" (39 to 84)
is one design; if the fine-tuning seed (head, batch order, flips) still makes most of the spread, fine-tuning each
encoder k times, or the 3 folds, would shrink it for less CPU.

What runs (SEED 2's laptop run, reconstructed deterministically from the chapter's functions, one thread):
  cohorts 21 (400 unlabelled) and 22 (600 labelled) with the detector stream of seed 2, as the chapter's config cell;
  pretraining seeds 2000..2004, random tube and Focus-tube (delta 2), 400 steps, the laptop sizes, as cell fm042;
  reconstruction check: each Focus encoder's linear probe minus the random-init probe must equal the committed
  pretraining-learns replicate of ../focusmae-seed2/report.json (to 1e-6), else the script stops;
  each encoder fine-tuned on fold 0 (200 test clips) with the laptop recipe (cfg.finetune_recipe, lr, fc_norm) at two
  EXTRA fine-tuning seeds, s + 50000 and s + 60000 (j = 1, 2; both arms of a pair share them, as in the chapter);
  j = 0 is the committed run (fine-tuning seed s): its per-seed tube and Focus accuracies are read from
  ../focusmae-seed2/tables.md, its paired differences from report.json. 20 new fine-tunings in all.

Statistics (points; d[s, j] = Focus - tube of pretraining seed s with fine-tuning seed j; 5 x 3):
  W   = mean over s of var_j d[s, :] (ddof 1; 10 df): the fine-tuning seed's share of the paired difference's variance
  B   = var_s of mean_j d[s, :] (ddof 1; 4 df);  S_b = max(0, B - W / 3): everything that is fixed per pretraining
        seed (pretraining, the seed's folds = its training and test clips)
  V1  = S_b + W: the variance of one replicate as the laptop measures it (one fine-tuning per encoder)
  f_ft = W / V1: the fraction due to the fine-tuning seed
  T   = mean over the 10 new pairs of (p10 + p01 - (p10 - p01)^2) / 200 x 1e4: the binomial (test-clip) variance of one
        paired difference, from the discordant test clips of the two arms (an approximation; counted inside S_b)
Costs (measured here, one thread): P = both arms' pretraining, F = both arms' fine-tuning + prediction, t_pred =
both arms' prediction of 200 clips, t_gen = drawing one clip.

Designs, per pretraining seed (replicate): its variance V and CPU cost c; n0 / n5 = the kit's n_to_decide (t interval,
95 %, threshold 2 points) at sd = sqrt(V) for a true difference of 0 / +5 points:
  (a) more seeds, as now:                 V = V1,                    c = P + F
  (b) k = 3 fine-tunings per encoder:     V = S_b + W / 3,           c = P + 3 F
  (c) the 3 folds (issue's protocol):     V = max(0, S_b - 2 T / 3) + W / 3 (three disjoint test folds; the folds'
                                          training-set differences are left out: an optimistic bound),  c = P + 3 F
  (d) a fresh test cohort of 800 clips:   V = V1 - T x (1 - 200 / 800),  c = P + F + 3 t_pred + 600 t_gen
RULE (fixed before this script ran; committed with it):
  1. The design to run next is the one with the smallest CPU to decide a true 0 (n0 x c; the pooled mean +2.1 sits on
     the threshold, so 0 is the harder case); ties within 10 % go to the simpler one, in the order a, b, d, c.
  2. Reading: f_ft >= 0.5: fine-tuning luck makes most of the spread (the review's reading of M1; the Summary's "some
     pretrained encoders fine-tune poorly" is then withdrawn); f_ft < 0.5: most of the spread is fixed per pretraining
     seed (pretraining and the seed's folds), and only more seeds or more test clips can shrink it.
  3. Caveat printed with the result: W has 10 df and B 4 df (a 4-df variance is uncertain by a factor of about 0.36
     to 5.6 at 95 %), so the split is a direction, not a measurement; one SEED (one cohort) only.
Also printed: the per-arm fine-tuning SD (pooled within encoder, 10 df), to compare with calibration 3's 2.05.

Usage (one core, about 8 minutes):
  OMP_NUM_THREADS=1 python reports/laptop/focusmae-variance-split/variance_split.py
"""
import json
import re
import time
from pathlib import Path

import numpy as np
import torch

from cvkit.core.claims import n_to_decide, numpy_stream, seeded_init
from cvkit.core.backbones import VideoMAE
from cvkit.papers.focusmae import (CONFIGS, Masking, binary_metrics, clip_features, finetune, make_cohort, noisy_boxes,
                                   patient_folds, predict_proba, pretrain, probe_accuracy, roi_tokens, stack_clips,
                                   standardise)

SEED = 2
RUN_SEEDS = [1000 * SEED + r for r in range(5)]
EXTRA = (50_000, 60_000)  # fine-tuning seed offsets j = 1, 2
HERE = Path(__file__).resolve().parent
REPORT = HERE.parent / "focusmae-seed2"


def log(msg: str) -> None:
    print(f"[{time.process_time():7.1f} s CPU] {msg}", flush=True)


def committed() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    "SEED 2's committed run: per-seed tube and Focus accuracy (points), central and pretraining-learns replicates."
    claims = {c["id"]: c for c in json.loads((REPORT / "report.json").read_text())["chapters"][0]["claims"]}
    rows = {}
    for line in (REPORT / "tables.md").read_text().splitlines():
        m = re.match(r"\s+(200[0-4])\s+([0-9.]+)\s+([0-9.]+)\s", line)
        if m and int(m.group(1)) not in rows:
            rows[int(m.group(1))] = (100 * float(m.group(2)), 100 * float(m.group(3)))
    tube, focus = (np.array([rows[s][i] for s in RUN_SEEDS]) for i in (0, 1))
    return tube, focus, np.array(claims["focus-beats-tube"]["values"]), np.array(claims["pretraining-learns"]["values"])


def main() -> None:
    torch.set_num_threads(1)
    cfg = CONFIGS["laptop"]
    tube0, focus0, d0, learns0 = committed()
    assert np.allclose(focus0 - tube0, d0), (focus0 - tube0, d0)
    t0 = time.process_time()
    unlabelled = make_cohort(cfg.cine, cfg.n_unlabelled, seed=10 * SEED + 1)
    labelled = make_cohort(cfg.cine, cfg.n_labelled, seed=10 * SEED + 2)
    t_gen = (time.process_time() - t0) / (cfg.n_unlabelled + cfg.n_labelled)
    U, L = standardise(stack_clips(unlabelled)), standardise(stack_clips(labelled))
    labels, patients = np.array([c.label for c in labelled]), np.array([c.patient for c in labelled])
    box_rng = numpy_stream(SEED, "detector")
    mid = cfg.cine.frames // 2
    roi = torch.from_numpy(np.stack([roi_tokens(noisy_boxes(c.gb_box[mid:mid + 1], size=cfg.cine.size, rng=box_rng)[0],
                                                size=cfg.cine.size, patch=cfg.patch, inflate=cfg.inflate)
                                     for c in unlabelled]))
    log(f"cohorts drawn ({t_gen * 1e3:.1f} ms CPU per clip)")
    arms = [Masking("tube"), Masking("tube", cfg.delta)]
    acc = np.full((2, 5, 1 + len(EXTRA)), np.nan)  # (arm, seed, fine-tuning seed j) points
    acc[0, :, 0], acc[1, :, 0] = tube0, focus0
    T_terms, cost = [], {"P": [], "F": [], "pred": []}
    for i, seed in enumerate(RUN_SEEDS):
        folds = patient_folds(labels, patients, k=cfg.folds, seed=seed)
        tr, te = folds[0]
        with seeded_init(seed, "mae"):
            random_init = VideoMAE(**cfg.model_kw).eval()
        states, t0 = [], time.process_time()
        for arm in arms:
            pre = pretrain(U, roi, arm, model_kw=cfg.model_kw, steps=cfg.pretrain_steps, batch=cfg.batch,
                           ratio=cfg.ratio, lr=cfg.lr, seed=seed, progress=False)
            states.append(pre.model.state_dict())
        cost["P"].append(time.process_time() - t0)
        learns = 100 * (probe_accuracy(clip_features(pre.model, L), labels, folds).mean()
                        - probe_accuracy(clip_features(random_init, L), labels, folds).mean())
        if abs(learns - learns0[i]) > 1e-6:
            raise SystemExit(f"reconstruction differs from the committed run at seed {seed}: {learns} vs {learns0[i]}")
        log(f"seed {seed}: both arms pretrained; Focus probe gain {learns:.4f} = committed {learns0[i]:.4f}")
        for j, off in enumerate(EXTRA, start=1):
            t0, preds = time.process_time(), []
            for a, state in enumerate(states):
                net = finetune(state, L[tr], labels[tr], model_kw=cfg.model_kw, steps=cfg.finetune_steps,
                               batch=cfg.batch, lr=cfg.finetune_lr, seed=seed + off, fc_norm=cfg.finetune_fc_norm,
                               **cfg.finetune_recipe)
                tp = time.process_time()
                preds.append(predict_proba(net, L[te]) > 0.5)
                cost["pred"].append(time.process_time() - tp)
                acc[a, i, j] = 100 * binary_metrics(labels[te], preds[-1])["accuracy"]
            cost["F"].append(time.process_time() - t0)
            right = [p == labels[te] for p in preds]
            p10, p01 = float((right[1] & ~right[0]).mean()), float((right[0] & ~right[1]).mean())
            T_terms.append((p10 + p01 - (p10 - p01) ** 2) / len(te) * 1e4)
            log(f"seed {seed} fine-tuning seed {seed + off}: tube {acc[0, i, j]:.1f}, Focus {acc[1, i, j]:.1f}, "
                f"difference {acc[1, i, j] - acc[0, i, j]:+.1f}")

    d = acc[1] - acc[0]
    W = float(d.var(axis=1, ddof=1).mean())
    B = float(d.mean(axis=1).var(ddof=1))
    S_b = max(0.0, B - W / 3)
    V1, T = S_b + W, float(np.mean(T_terms))
    s_ft_arm = float(np.sqrt(np.concatenate([acc[a].var(axis=1, ddof=1) for a in (0, 1)]).mean()))
    P, F, t_pred = (float(np.mean(cost[k])) for k in ("P", "F", "pred"))
    t_pred *= 2  # both arms
    print("accuracy (points), rows = pretraining seeds 2000..2004, columns = fine-tuning seed s, s + 50000, s + 60000")
    for name, a in (("tube", acc[0]), ("Focus-tube", acc[1]), ("difference", d)):
        print(f"  {name}: {np.round(a, 1).tolist()}")
    print(f"per-seed mean difference over the 3 fine-tunings: {np.round(d.mean(axis=1), 2).tolist()}; "
          f"overall mean {d.mean():+.2f}")
    print(f"W (fine-tuning) {W:.1f}, B {B:.1f}, S_b (per pretraining seed) {S_b:.1f}, V1 {V1:.1f} points^2 "
          f"(SD {np.sqrt(V1):.1f}); f_ft = {W / V1:.2f}; T (test clips) {T:.1f} points^2 (SD {np.sqrt(T):.1f})")
    print(f"per-arm fine-tuning SD (pooled within encoder, 10 df): {s_ft_arm:.2f} points (calibration 3: 2.05)")
    print(f"costs (s CPU, one thread): P {P:.1f}, F {F:.1f}, prediction of 200 clips, both arms {t_pred:.1f}, "
          f"one clip drawn {t_gen:.3f}")
    designs = {"a": ("more seeds (one fine-tuning per encoder, as now)", V1, P + F),
               "b": ("3 fine-tunings per encoder", S_b + W / 3, P + 3 * F),
               "d": ("a fresh test cohort of 800 clips", V1 - T * (1 - 200 / 800), P + F + 3 * t_pred + 600 * t_gen),
               "c": ("the 3 folds", max(0.0, S_b - 2 * T / 3) + W / 3, P + 3 * F)}
    table = {}
    for key, (name, V, c) in designs.items():
        sd = float(np.sqrt(max(V, 0.0)))
        n0, n5 = n_to_decide(0.0, sd, ">=", 2.0), n_to_decide(5.0, sd, ">=", 2.0)
        table[key] = (name, sd, c, n0, n5)
        print(f"DESIGN ({key}) {name}: SD per seed {sd:.1f}, {c:.0f} s CPU per seed; true 0 decided with n = {n0} "
              f"({n0 * c / 3600:.2f} h CPU), true +5 with n = {n5} ({n5 * c / 3600:.2f} h CPU)")
    best = min(table, key=lambda k: table[k][3] * table[k][2])
    order = "abdc"
    for k in order:  # ties within 10 % go to the simpler design
        if table[k][3] * table[k][2] <= 1.1 * table[best][3] * table[best][2]:
            best = k
            break
    name, sd, c, n0, n5 = table[best]
    print(f"RULE 1: design ({best}) {name}: n = {n0} seeds for a true 0, {n5} for a true +5, {c:.0f} s CPU per seed "
          f"({n0 * c / 3600:.2f} h and {n5 * c / 3600:.2f} h CPU)")
    print(f"RULE 2: f_ft = {W / V1:.2f}: " + ("fine-tuning luck makes most of the spread" if W / V1 >= 0.5 else
          "most of the spread is fixed per pretraining seed (pretraining and the seed's folds)"))
    print("RULE 3: W has 10 df and B 4 df; one SEED (one cohort): the split is a direction, not a measurement")


if __name__ == "__main__":
    main()
