import sys, time, numpy as np; sys.path.insert(0, '/tmp/cl')
from cl import *
cls, size, maps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for kind in sys.argv[4].split(","):
    t0 = time.time(); out = {"coupled": [], "euclid": [], "gps": []}
    for seed in range(2):
        ref = make_scan(cls, size, "good", seed=1000 + seed); A, _ = ref.points()
        for t in range(3):
            sc = make_scan(cls, size, kind, seed=seed * 100 + t); B, pix = sc.points()
            R, tr, rms = icp(A, B); Ar = A @ R.T + tr
            m = sc.mask.reshape(-1)[pix]
            if m.sum() == 0:  # holes: score the rim? use image
                img = {k: scores_to_image(v, pix, sc.valid.shape, 2) for k, v in (("coupled", coupled_scores(Ar, B, 1.0, maps)), ("euclid", euclidean_scores(Ar, B)), ("gps", gps_scores(Ar, B, maps)))}
                region = sc.valid | sc.mask
                for k in out: out[k].append(roc_auc_score(sc.mask[region], img[k][region]))
                continue
            out["coupled"].append(roc_auc_score(m, coupled_scores(Ar, B, 1.0, maps)))
            out["euclid"].append(roc_auc_score(m, euclidean_scores(Ar, B)))
            out["gps"].append(roc_auc_score(m, gps_scores(Ar, B, maps)))
    print(cls, kind, {k: np.round(v, 2).tolist() for k, v in out.items()}, f"{time.time()-t0:.0f}s", flush=True)
