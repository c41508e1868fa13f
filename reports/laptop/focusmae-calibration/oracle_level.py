import numpy as np, time
from cvkit.papers.focusmae import CONFIGS, make_cohort, patient_folds, probe_accuracy
cfg = CONFIGS["laptop"]
t=time.time()
seed = 100  # calibration seed, disjoint from the pinned run (SEED 0 uses cohort seeds 1, 2)
lab = make_cohort(cfg.cine, cfg.n_labelled, seed=10*seed+2)
print("gen", time.time()-t)
labels = np.array([c.label for c in lab]); patients = np.array([c.patient for c in lab])
def box(c,k):
    b=c.gb_box[k]; return c.frames[k, int(b[1]):int(b[3]), int(b[0]):int(b[2])]
# pixel values: lesion pixels vs other in-box pixels
les=np.concatenate([c.frames[c.lesion_mask] for c in lab if c.label==1])
oth=np.concatenate([box(c,k).ravel() for c in lab for k in range(16)])
print("lesion px quantiles", np.quantile(les,[.1,.25,.5,.75,.9]).round(3))
print("in-box px quantiles", np.quantile(oth,[.5,.75,.9,.95,.99]).round(3))
for thr in (0.6,0.7,0.8,0.85,0.9):
    for agg in ("max","mean"):
        f=np.array([getattr(np,agg)([float((box(c,k)>thr).mean()) for k in range(16)]) for c in lab])
        accs=[probe_accuracy(f[:,None],labels,patient_folds(labels,patients,k=3,seed=s)).mean() for s in range(5)]
        print(thr, agg, "mal",f[labels==1].mean().round(4),"ben",f[labels==0].mean().round(4), "acc", np.round(accs,3), np.mean(accs).round(3))
