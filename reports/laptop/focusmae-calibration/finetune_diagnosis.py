"""FocusMAE fine-tuning diagnosis (session 8), random tube only, calibration seed 100 (cohorts 1001/1002, pretraining
seed 100, fold seed 100): lesion visibility at patch 16, probes of mean- vs max-pooled tokens, and train vs test
accuracy of the laptop fine-tuning on two folds. Output in contrast_diagnosis.md. One core, about 1 minute."""
import time, numpy as np, torch
from cvkit.papers.focusmae import (CONFIGS, Masking, binary_metrics, finetune, make_cohort, patient_folds, predict_proba,
                                   pretrain, roi_tokens, stack_clips, standardise, probe_accuracy)
torch.set_num_threads(1)
cfg = CONFIGS["laptop"]; CAL=100
t0=time.process_time()
unl = make_cohort(cfg.cine, cfg.n_unlabelled, seed=10*CAL+1); lab = make_cohort(cfg.cine, cfg.n_labelled, seed=10*CAL+2)
print("cohorts", time.process_time()-t0, flush=True)
U, L = standardise(stack_clips(unl)), standardise(stack_clips(lab))
labels = np.array([c.label for c in lab]); patients=np.array([c.patient for c in lab])
mal=[c for c in lab if c.label==1]
vis=np.array([c.lesion_visible.mean() for c in mal]); print("visible frac per malignant clip: mean %.2f, clips with none %.2f"%(vis.mean(), (vis==0).mean()))
# tokens touched at patch 16 (tubelet 2)
tok=[]
for c in mal:
    m=c.lesion_mask.reshape(8,2,4,16,4,16).any(axis=(1,3,5)); tok.append(m.sum())
print("lesion tokens (of 128) per malignant clip: mean %.1f, min %d"%(np.mean(tok), np.min(tok)))
px=np.concatenate([c.frames[c.lesion_mask] for c in mal]); print("lesion px median %.3f, share ==1: %.2f"%(np.median(px),(px>=0.999).mean()))
roi = torch.zeros(len(U), 16, dtype=torch.bool)
pre = pretrain(U, roi, Masking("tube"), model_kw=cfg.model_kw, steps=cfg.pretrain_steps, batch=cfg.batch, ratio=cfg.ratio, lr=cfg.lr, seed=CAL, progress=False)
print("pretrain", time.process_time()-t0, flush=True)
folds = patient_folds(labels, patients, k=cfg.folds, seed=CAL)
with torch.no_grad():
    tokens = torch.cat([pre.model.encode(L[s:s+64]) for s in range(0,len(L),64)])
for name, feats in (("mean", tokens.mean(1)), ("max", tokens.max(1).values), ("mean+max", torch.cat([tokens.mean(1), tokens.max(1).values],1))):
    print("probe", name, probe_accuracy(feats.numpy(), labels, folds).round(3), flush=True)
state = pre.model.state_dict()
for f,(tr,te) in enumerate(folds[:2]):
    net = finetune(state, L[tr], labels[tr], model_kw=cfg.model_kw, steps=cfg.finetune_steps, batch=cfg.batch, lr=cfg.finetune_lr, seed=CAL+17*f)
    ptr, pte = predict_proba(net, L[tr]), predict_proba(net, L[te])
    print(f"fold {f}: train acc {((ptr>0.5)==labels[tr]).mean():.3f} test acc {((pte>0.5)==labels[te]).mean():.3f} "
          f"p test quantiles {np.quantile(pte,[0.05,0.5,0.95]).round(3)}", flush=True)
print("CPU", time.process_time()-t0)
