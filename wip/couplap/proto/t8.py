import sys, numpy as np; sys.path.insert(0, '/tmp/cl')
from cl import *
ref = make_scan("bagel", 64, "good", seed=1000); A, _ = ref.points()
sc = make_scan("bagel", 64, "bump", seed=1); B, pix = sc.points()
R, tr, rms = icp(A, B); Ar = A @ R.T + tr
m = sc.mask.reshape(-1)[pix]
(pt, pr), ch, (pa,) = coupled_eigenmaps([B, Ar], 1.0, 140)
L, D, off = None, None, None
for maps in (20, 40, 60, 80, 96, 100, 104, 120, 140):
    s = cosine_distance_rows(pt[:, :maps], pr[pa, :maps])
    print(maps, round(roc_auc_score(m, s), 3), "inner q99", np.quantile(s[~m], 0.99).round(3), "mask mean", s[m].mean().round(3))
mis = np.linalg.norm(pt - pr[pa], axis=0) / np.linalg.norm(pt, axis=0)
ratio = np.linalg.norm(pt, axis=0) / np.linalg.norm(pr, axis=0)
print(np.round(mis, 2).tolist()); print(np.round(ratio, 2).tolist())
