import sys, numpy as np; sys.path.insert(0, '/tmp/cl')
from cl import *
def affine_icp(src, dst, it=30):
    tree = cKDTree(dst); P = src.copy()
    for _ in range(it):
        d, i = tree.query(P)
        X = np.c_[src, np.ones(len(src))]
        M, *_ = np.linalg.lstsq(X, dst[i], rcond=None)
        P = X @ M
    return P
size = 64
rng = np.random.default_rng(0)
for mode in ("pose_rigid", "rvar_rigid", "rvar_affine", "scale_affine"):
    aucs = []
    for t in range(3):
        rr = 0.3 * (1 + 0.03 * rng.normal()) if "rvar" in mode else 0.3
        y, x = np.mgrid[-1:1:size*1j, -1:1:size*1j]
        def obj(r, sc=1.0):
            rho = np.hypot(x, y); u = (rho - 0.55*sc) / (r*sc); sup = np.abs(u) < 1
            return np.where(sup, 0.25 * np.cos(np.pi * u / 2) ** 2, 0), sup
        z0, sup0 = obj(0.3)
        sc = 1 + 0.03 * rng.normal() if mode == "scale_affine" else 1.0
        z1, sup1 = obj(rr, sc)
        ang = rng.uniform(0, 2*np.pi); px, py = 0.55*sc*np.cos(ang), 0.55*sc*np.sin(ang)
        g = 0.04 * np.exp(-((x-px)**2 + (y-py)**2) / (2*0.1**2)); mask = (g > 0.008) & sup1
        zt = z1 + g * sup1 + 0.003 * rng.normal(size=x.shape); zr = z0 + 0.003 * rng.normal(size=x.shape)
        A = np.stack([x, y, zr], -1)[sup0]; B = np.stack([x, y, zt], -1)[sup1]
        if "pose" in mode: B = random_pose(B, rng)
        if "rigid" in mode:
            R, tr, _ = icp(A, B); A = A @ R.T + tr
        else:
            A = affine_icp(A, B)
        s = coupled_scores(A, B, 1.0, 100)
        aucs.append(roc_auc_score(mask[sup1], s))
    print(mode, np.round(aucs, 3), flush=True)
