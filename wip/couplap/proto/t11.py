import sys, time, numpy as np; sys.path.insert(0, '/tmp/cl')
from cl import *
def affine_icp(src, dst, it=30):
    tree = cKDTree(dst); X = np.c_[src, np.ones(len(src))]; P = src.copy()
    for _ in range(it):
        _, i = tree.query(P)
        M, *_ = np.linalg.lstsq(X, dst[i], rcond=None); P = X @ M
    return P
cls, size, maps, reg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for kind in sys.argv[5].split(","):
    t0 = time.time(); out = {"coupled": [], "euclid": [], "gps": []}
    for seed in range(2):
        ref = make_scan(cls, size, "good", seed=1000 + seed); A, _ = ref.points()
        for t in range(3):
            sc = make_scan(cls, size, kind, seed=seed * 100 + t); B, pix = sc.points()
            R, tr, rms = icp(A, B); Ar = A @ R.T + tr
            if reg == "affine": Ar = affine_icp(Ar, B)
            m = sc.mask.reshape(-1)[pix]
            out["coupled"].append(roc_auc_score(m, coupled_scores(Ar, B, 1.0, maps)))
            out["euclid"].append(roc_auc_score(m, euclidean_scores(Ar, B)))
            out["gps"].append(roc_auc_score(m, gps_scores(Ar, B, maps)))
    print(cls, size, maps, reg, kind, {k: np.round(v, 2).tolist() for k, v in out.items()}, f"{time.time()-t0:.0f}s", flush=True)
