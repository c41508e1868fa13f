import sys, time, numpy as np; sys.path.insert(0, '/tmp/cl')
from cl import *
rng = np.random.default_rng(0); t0 = time.time()
correct = {"spectral": 0, "chamfer": 0, "hausdorff": 0}; n = 0
for i in range(12):
    s_side, t_side = rng.choice(["left", "right"], 2)
    src = make_femur(s_side, int(sys.argv[1]), seed=rng.integers(1 << 30)); tgt = make_femur(t_side, int(sys.argv[1]), seed=rng.integers(1 << 30))
    R = np.linalg.qr(rng.normal(size=(3, 3)))[0]; R *= np.sign(np.linalg.det(R))
    tgt = tgt @ R.T * rng.uniform(0.9, 1.1)
    d = side_distances(src, tgt, maps=int(sys.argv[2]), seed=i)
    truth = s_side == t_side; n += 1
    for m in correct: correct[m] += d.same_side(m) == truth
    print(s_side, t_side, np.round(d.spectral, 3), np.round(d.chamfer, 4), flush=True)
print({m: c / n for m, c in correct.items()}, f"{time.time()-t0:.1f}s")
