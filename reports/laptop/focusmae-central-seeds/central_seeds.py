"""FocusMAE central claim on 40 more pretraining seeds (session 10): the design the variance split picked, run as a
pre-registered side report. No re-pin, no change of the laptop configuration; the chapter's pinned laptop verdict
stays SEED 0's.

Why: at laptop the central claim focus-beats-tube (fine-tuned accuracy, Focus-tube delta = 2 - random tube >= +2
points, paired by pretraining seed) is undecided at each of SEEDs 0, 1, 2 (n = 5 each) and over the 15 pooled
(+2.1 [-3.0, +7.2]). The variance split (../focusmae-variance-split/) picked design (a): more pretraining seeds with
one fine-tuning each, the two claim arms only (about 80 s CPU per seed, one thread).

What runs: the two claim arms of eight more laptop runs, SEED = 300..307 (RUN_SEEDS below), each exactly as the laptop
run builds them (cells fm034 and fm042 of nbs/chapters/52_focusmae.ipynb, reconstructed the way
../focusmae-variance-split/variance_split.py does, which matched the committed SEED 2 run to 1e-6):
  per SEED S: cohorts 10 S + 1 (400 unlabelled) and 10 S + 2 (600 labelled) of the laptop CineSpec, standardised;
  the noisy-box detector stream numpy_stream(S, "detector") on the middle frame, inflated, as ROI tokens;
  pretraining seeds 1000 S + r, r = 0..4 (the kit's replicate_seeds(S, 5));
  per pretraining seed s: patient_folds(k = 3, seed = s), random tube and Focus-tube (delta 2) pretrained with seed s
  (shared "mae", "order" and "treatment" streams: the same initial weights, batches and Gumbel noise), each fine-tuned
  on fold 0's training clips with the laptop recipe (cfg.finetune_steps, cfg.batch, cfg.finetune_lr, seed s + 17 * 0,
  cfg.finetune_fc_norm, **cfg.finetune_recipe) and scored on fold 0's 200 test clips (accuracy of
  predict_proba > 0.5, binary_metrics), as the laptop arms are.
  8 SEEDs x 5 pretraining seeds = N = 40 replicates, fixed before the run. --part 0 runs SEEDs 300..303 (20 seeds),
  --part 1 SEEDs 304..307 (20 seeds); each writes part<k>.json after every pretraining seed (so that a run cut short
  leaves its count), and prints only each seed's completion and CPU time, never an accuracy or a difference.

Ids (disjoint from every id used so far, see README.md): cohorts 3001..3072, detector streams of 300..307,
pretraining and fine-tuning seeds 300000..307004.

RULE (fixed before the run; committed with this script):
  1. N = 40 fixed; no optional stopping, no look at partial differences (the parts print no accuracy; --combine
     refuses to judge before both parts hold all 20 seeds).
  2. --combine decides with the kit's own rule: cvkit.core.claims.decide with the chapter's own ClaimSpec
     (cvkit.papers.focusmae.SPECS, id focus-beats-tube, laptop rule: ">=" 2.0 points) on
     paired(Focus-tube, tube, unit = "pretraining seed", chance = 50), as the chapter's measurement cell builds it.
     (At n = 40 >= T_BELOW_N = 30 the kit's interval is the seeded percentile bootstrap, not Student's t.) It prints
     mean, 95 % interval, n, SD, verdict and, if undecided, the n that would decide.
  3. Secondary (labelled so): the same rule on the 40 pooled with the 15 committed laptop replicates (SEEDs 0, 1, 2:
     ../focusmae/, ../focusmae-seed1/, ../focusmae-seed2/ report.json), n = 55.
  4. If the runs are cut short (time), the report says "incomplete, no verdict" with the count done.
  5. The verdict does not re-pin the chapter: it is an extra reading at the laptop configuration, beyond the laptop
     budget (40 seeds x about 80 s, about 55 minutes of one core).

Usage (one thread per part; the two parts can run at once):
  OMP_NUM_THREADS=1 python reports/laptop/focusmae-central-seeds/central_seeds.py --part 0   (and --part 1)
  python reports/laptop/focusmae-central-seeds/central_seeds.py --combine
Dry test only (never for the report): CENTRAL_SEEDS_DRY=1 runs the first pretraining seed of each part on the
chapter's dry_run() sizes (8 + 8 clips, 2 pretraining and 1 fine-tuning step) and writes under
/tmp/focusmae-central-seeds-dry/ instead of this folder.
"""
import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

from cvkit.core.claims import UNDECIDED, Measurement, decide, numpy_stream, paired, replicate_seeds
from cvkit.papers.focusmae import (CONFIGS, LESION_CONTRAST, SPECS, CineSpec, FocusConfig, Masking, binary_metrics,
                                   dry_run, finetune, make_cohort, noisy_boxes, patient_folds, predict_proba,
                                   pretrain, roi_tokens, stack_clips, standardise)

HERE = Path(__file__).resolve().parent
RUN_SEEDS = tuple(range(300, 308))  # the eight SEEDs; part k runs RUN_SEEDS[4 k : 4 k + 4]
PER_RUN = 5  # pretraining seeds per SEED, as the laptop configuration's cfg.seeds
N_TOTAL = len(RUN_SEEDS) * PER_RUN  # 40
COMMITTED = ("focusmae", "focusmae-seed1", "focusmae-seed2")  # the 15 committed laptop replicates (SEEDs 0, 1, 2)
DRY = os.environ.get("CENTRAL_SEEDS_DRY") == "1"
OUT = Path("/tmp/focusmae-central-seeds-dry") if DRY else HERE
# The laptop configuration as the committed laptop runs (SEEDs 0-2 at b744d5c) and the variance split used it,
# written out here so that a later change of the chapter's CONFIGS["laptop"] stops this script instead of silently
# measuring another configuration.
LAPTOP = FocusConfig(CineSpec(size=64, frames=16, lesion_contrast=LESION_CONTRAST), patch=16, dim=96, depth=3,
                     heads=4, decoder_dim=48, decoder_depth=1, n_unlabelled=400, n_labelled=600, pretrain_steps=400,
                     finetune_steps=360, folds=3, finetune_folds=1, seeds=5, adamae=True, adamae_steps=200)


def part_seeds(part: int) -> list[int]:
    "The SEEDs of one part: 0 -> 300..303, 1 -> 304..307."
    if part not in (0, 1):
        raise ValueError(f"--part must be 0 or 1, got {part}")
    return list(RUN_SEEDS[4 * part: 4 * part + 4])


def log(msg: str, t_wall0: float) -> None:
    print(f"[{time.process_time():7.1f} s CPU, {time.time() - t_wall0:7.1f} s wall] {msg}", flush=True)


def git_state() -> dict:
    "Commit and whether the tree is clean (the real run must start from a committed, clean tree)."
    rev = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=HERE).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, cwd=HERE).stdout.strip())
    return {"commit": rev, "dirty": dirty}


def run_seed_arms(cfg: FocusConfig, S: int, n_rep: int, record, t_wall0: float) -> None:
    """One SEED S as the laptop run builds it: its cohorts, detector boxes and ROI tokens, then for each of its
    pretraining seeds s both claim arms pretrained (seed s), fine-tuned on fold 0 (seed s) and scored on fold 0's test
    clips. `record(entry)` is called after every pretraining seed with its (tube, Focus) accuracies in points."""
    unlabelled = make_cohort(cfg.cine, cfg.n_unlabelled, seed=10 * S + 1)
    labelled = make_cohort(cfg.cine, cfg.n_labelled, seed=10 * S + 2)
    U, L = standardise(stack_clips(unlabelled)), standardise(stack_clips(labelled))  # (N, 1, T, H, W)
    labels, patients = np.array([c.label for c in labelled]), np.array([c.patient for c in labelled])
    box_rng = numpy_stream(S, "detector")
    mid = cfg.cine.frames // 2
    roi = torch.from_numpy(np.stack([roi_tokens(noisy_boxes(c.gb_box[mid:mid + 1], size=cfg.cine.size, rng=box_rng)[0],
                                                size=cfg.cine.size, patch=cfg.patch, inflate=cfg.inflate)
                                     for c in unlabelled]))  # (N_u, h*w) bool
    log(f"SEED {S}: cohorts {10 * S + 1}, {10 * S + 2} drawn", t_wall0)
    arms = [Masking("tube"), Masking("tube", cfg.delta)]  # TUBE, FOCUS of cell fm042
    for seed in replicate_seeds(S, n_rep):
        t_cpu = time.process_time()
        folds = patient_folds(labels, patients, k=cfg.folds, seed=seed)
        tr, te = folds[0]  # the laptop fine-tunes the first fold (finetune_folds = 1); fine-tuning seed s + 17 * 0
        acc = []
        for arm in arms:
            pre = pretrain(U, roi, arm, model_kw=cfg.model_kw, steps=cfg.pretrain_steps, batch=cfg.batch,
                           ratio=cfg.ratio, lr=cfg.lr, seed=seed, progress=False)
            net = finetune(pre.model.state_dict(), L[tr], labels[tr], model_kw=cfg.model_kw, steps=cfg.finetune_steps,
                           batch=cfg.batch, lr=cfg.finetune_lr, seed=seed + 17 * 0, fc_norm=cfg.finetune_fc_norm,
                           **cfg.finetune_recipe)
            acc.append(100 * binary_metrics(labels[te], predict_proba(net, L[te]) > 0.5)["accuracy"])
        record({"run_seed": S, "seed": seed, "tube": acc[0], "focus": acc[1], "n_test": int(len(te)),
                "cpu_s": time.process_time() - t_cpu})
        log(f"SEED {S} pretraining seed {seed} done ({time.process_time() - t_cpu:.1f} s CPU)", t_wall0)  # no accuracy


def run_part(part: int) -> None:
    torch.set_num_threads(1)
    if CONFIGS["laptop"] != LAPTOP:
        raise SystemExit("the chapter's laptop configuration differs from the one this report measures: "
                         f"{CONFIGS['laptop']} vs {LAPTOP}")
    cfg = dry_run(LAPTOP) if DRY else LAPTOP
    n_rep = 1 if DRY else PER_RUN
    seeds = part_seeds(part)[:1] if DRY else part_seeds(part)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"part{part}.json"
    state = {"part": part, "run_seeds": seeds, "expected": len(seeds) * n_rep, "dry": DRY, "git": git_state(),
             "torch_threads": torch.get_num_threads(), "python": platform.python_version(), "torch": torch.__version__,
             "entries": []}
    if state["git"]["dirty"] and not DRY:
        raise SystemExit("commit first: the report's run starts from a clean tree")
    t_wall0 = time.time()

    def record(entry: dict) -> None:
        state["entries"].append(entry)
        state["cpu_s"], state["wall_s"] = time.process_time(), time.time() - t_wall0
        path.write_text(json.dumps(state, indent=1))

    log(f"part {part}: SEEDs {seeds}, {state['expected']} pretraining seeds, config "
        f"{'DRY (dry_run sizes)' if DRY else 'laptop'}", t_wall0)
    for S in seeds:
        run_seed_arms(cfg, S, n_rep, record, t_wall0)
    log(f"part {part} complete: {len(state['entries'])} of {state['expected']} seeds", t_wall0)


def difference(values: np.ndarray) -> Measurement:
    "(n,) per-seed differences in points as a paired-difference measurement (the committed reports keep the differences)."
    return Measurement(tuple(np.asarray(values, dtype=float).tolist()), "pretraining seed", {}, None, "difference")


def claim_spec():
    "The chapter's own ClaimSpec of the central claim (threshold and direction as the chapter judges it)."
    spec = next(s for s in SPECS if s.id == "focus-beats-tube")
    assert spec.central and spec.comparison == ">=" and spec.rule("laptop").threshold == 2.0, spec
    return spec


def show(label: str, claim) -> None:
    "One claim's reading on one line: mean, interval, n, SD, arms, verdict and the n that would decide it."
    ci = "no interval" if claim.ci is None else f"95 % interval [{claim.ci[0]:+.2f}, {claim.ci[1]:+.2f}] ({claim.method})"
    sd = "" if claim.sd is None else f", SD {claim.sd:.2f}"
    arms = "".join(f"; {k} {v:.2f}" for k, v in (claim.arms or {}).items())
    print(f"{label}: mean {claim.mean:+.2f} points, {ci}, n = {claim.n} {claim.unit}s{sd}{arms}; VERDICT {claim.verdict}"
          + (f"; n to decide at this mean and SD: {claim.n_to_decide}" if claim.verdict == UNDECIDED else "")
          + (f"; note: {claim.note}" if claim.note else ""))


def combine() -> None:
    spec = claim_spec()
    expected_parts = [(p, [s for S in (part_seeds(p)[:1] if DRY else part_seeds(p))
                           for s in replicate_seeds(S, 1 if DRY else PER_RUN)]) for p in (0, 1)]
    entries, commits, done = [], set(), 0
    for p, ids in expected_parts:
        path = OUT / f"part{p}.json"
        got = json.loads(path.read_text()) if path.exists() else {"entries": []}
        done += len(got["entries"])
        if [e["seed"] for e in got["entries"]] != ids:
            print(f"part {p}: {len(got['entries'])} of {len(ids)} pretraining seeds done")
            continue
        if got["dry"] != DRY or (got["git"]["dirty"] and not DRY):
            raise SystemExit(f"part {p}: written by a dry or dirty run ({got['dry']}, {got['git']})")
        commits.add(got["git"]["commit"])
        entries += got["entries"]
        print(f"part {p}: SEEDs {got['run_seeds']}, {len(got['entries'])} pretraining seeds, commit "
              f"{got['git']['commit'][:7]}, {got['cpu_s']:.1f} s CPU (process), {got['wall_s']:.0f} s wall")
    n_expected = sum(len(ids) for _, ids in expected_parts)
    if len(entries) != n_expected:
        print(f"INCOMPLETE, NO VERDICT: {done} of {n_expected} pretraining seeds done (rule 4)")
        return
    if len(commits) != 1:
        raise SystemExit(f"the two parts ran different commits: {sorted(commits)}")
    focus, tube = np.array([e["focus"] for e in entries]), np.array([e["tube"] for e in entries])
    names = (Masking("tube", LAPTOP.delta).name, Masking("tube").name)
    m = paired(focus, tube, unit="pretraining seed", names=names, chance=50.0)
    print("per pretraining seed (seed: tube, Focus-tube, difference; points):")
    for e in entries:
        print(f"  {e['seed']}: {e['tube']:.1f}, {e['focus']:.1f}, {e['focus'] - e['tube']:+.1f}")
    at_chance = {n: int((a <= 55.0).sum()) for n, a in zip(names, (focus, tube))}
    print(f"fine-tunings at chance (accuracy <= 55 %) of {len(entries)}: {at_chance}")
    show(f"PRIMARY (rule 2, n = {len(entries)} new pretraining seeds, {spec.id}, laptop rule "
         f"{spec.comparison} {spec.rule('laptop').threshold:g})", decide(spec, m, "laptop"))
    committed = []
    for name in COMMITTED:  # the committed runs' per-seed differences (their report.json claim values)
        c = next(c for c in json.loads((HERE.parent / name / "report.json").read_text())["chapters"][0]["claims"]
                 if c["id"] == spec.id)
        committed += c["values"]
    committed = np.array(committed)
    print(f"committed laptop replicates (SEEDs 0, 1, 2), per seed: {np.round(committed, 2).tolist()}")
    show("REFERENCE (the 15 committed alone; the grid's pooled reading)", decide(spec, difference(committed), "laptop"))
    show(f"SECONDARY (rule 3, the {len(entries)} new pooled with the {len(committed)} committed, n = "
         f"{len(entries) + len(committed)})", decide(spec, difference(np.concatenate([m.values, committed])), "laptop"))
    print("rule 5: an extra reading at the laptop configuration beyond the laptop budget; the chapter's pinned laptop "
          "verdict stays SEED 0's")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--part", type=int, choices=(0, 1))
    g.add_argument("--combine", action="store_true")
    args = ap.parse_args()
    combine() if args.combine else run_part(args.part)


if __name__ == "__main__":
    main()
