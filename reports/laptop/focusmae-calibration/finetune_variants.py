"""FocusMAE fine-tuning variants (session 8), random tube only, calibration seed 100, folds 0-1: a copy of the
chapter's `finetune` with switches (LayerNorm after pooling, head learning rate x10, lr 3e-4, 360 steps, no
pretraining, no weight decay), each reporting train and test accuracy and the first/last-20-step loss. Diagnostic
only: nothing here was chosen by a rule; the decision is contrast_recal.py's. Output in contrast_diagnosis.md."""
import time, math, numpy as np, torch, torch.nn.functional as F
from torch import nn
from cvkit.papers.focusmae import (CONFIGS, Masking, finetune, make_cohort, patient_folds, predict_proba, _schedule,
                                   pretrain, stack_clips, standardise, ClipClassifier)
from cvkit.core.backbones import VideoMAE
from cvkit.core.claims import numpy_stream, seeded_init
torch.set_num_threads(1)
cfg = CONFIGS["laptop"]; CAL=100
unl = make_cohort(cfg.cine, cfg.n_unlabelled, seed=10*CAL+1); lab = make_cohort(cfg.cine, cfg.n_labelled, seed=10*CAL+2)
U, L = standardise(stack_clips(unl)), standardise(stack_clips(lab))
labels = np.array([c.label for c in lab]); patients=np.array([c.patient for c in lab])
pre = pretrain(U, torch.zeros(len(U),16,dtype=torch.bool), Masking("tube"), model_kw=cfg.model_kw, steps=cfg.pretrain_steps, batch=cfg.batch, ratio=cfg.ratio, lr=cfg.lr, seed=CAL, progress=False)
state = pre.model.state_dict()
folds = patient_folds(labels, patients, k=cfg.folds, seed=CAL)

class Net(ClipClassifier):
    def __init__(self, mae, fcnorm):
        super().__init__(mae); self.fc = nn.LayerNorm(mae.dim) if fcnorm else nn.Identity()
    def forward(self, x): return self.head(self.fc(self.mae.features(x)))

def ft(state, X, y, *, steps=180, lr=1e-3, head_mult=1.0, fcnorm=False, wd=0.05, seed=0):
    with seeded_init(seed, "scratch"): mae = VideoMAE(**cfg.model_kw)
    if state is not None: mae.load_state_dict(state)
    with seeded_init(seed, "head"): net = Net(mae, fcnorm)
    yt = torch.as_tensor(y)
    order, flips = numpy_stream(seed, "finetune-order"), numpy_stream(seed, "finetune-flip")
    dec = {id(p) for part in (mae.to_decoder, mae.decoder, mae.decoder_norm, mae.head) for p in part.parameters()} | {id(mae.mask_token)}
    head = [p for p in list(net.head.parameters()) + list(net.fc.parameters())]
    enc = [p for p in net.mae.parameters() if id(p) not in dec]
    opt = torch.optim.AdamW([{"params": enc, "lr": lr}, {"params": head, "lr": lr*head_mult}], weight_decay=wd)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _schedule(steps)); net.train(); ls=[]
    for _ in range(steps):
        idx = torch.as_tensor(order.choice(len(X), cfg.batch, replace=False)); x = X[idx]
        flip = torch.as_tensor(flips.random(len(idx)) < 0.5); x = torch.where(flip[:, None, None, None, None], x.flip(-1), x)
        loss = F.cross_entropy(net(x), yt[idx]); opt.zero_grad(); loss.backward(); opt.step(); sched.step(); ls.append(loss.item())
    return net.eval(), ls

variants = {"base": {}, "fcnorm": dict(fcnorm=True), "head x10": dict(head_mult=10), "lr 3e-4": dict(lr=3e-4),
            "steps 360": dict(steps=360), "scratch": dict(scratch=True), "wd 0": dict(wd=0.0)}
for name, kw in variants.items():
    kw = dict(kw); st = None if kw.pop("scratch", False) else state
    out=[]
    for f,(tr,te) in enumerate(folds[:2]):
        t0=time.process_time()
        net, ls = ft(st, L[tr], labels[tr], seed=CAL+17*f, **kw)
        ptr, pte = predict_proba(net, L[tr]), predict_proba(net, L[te])
        out.append(f"f{f} train {((ptr>0.5)==labels[tr]).mean():.2f} test {((pte>0.5)==labels[te]).mean():.2f} loss first/last20 {np.mean(ls[:20]):.3f}/{np.mean(ls[-20:]):.3f} ({time.process_time()-t0:.0f}s)")
    print(name, " | ".join(out), flush=True)
