import sys, numpy as np; sys.path.insert(0, '/tmp/cl')
from cl import *
size = 64
y, x = np.mgrid[-1:1:size*1j, -1:1:size*1j]
rho = np.hypot(x, y); u = (rho - 0.55) / 0.3; sup = np.abs(u) < 1
z0 = np.where(sup, 0.25 * np.cos(np.pi * u / 2) ** 2, 0)
rng = np.random.default_rng(0)
for noise in (0.0, 0.003):
  for maps in (10, 30, 100):
    aucs = []
    for t in range(3):
        ang = rng.uniform(0, 2*np.pi); px, py = 0.55*np.cos(ang), 0.55*np.sin(ang)
        g = 0.04 * np.exp(-((x-px)**2 + (y-py)**2) / (2*0.1**2)); mask = (g > 0.008) & sup
        zt = z0 + g * sup + noise * rng.normal(size=x.shape); zr = z0 + noise * rng.normal(size=x.shape)
        A = np.stack([x, y, zr], -1)[sup]; B = np.stack([x, y, zt], -1)[sup]
        s = coupled_scores(A, B, 1.0, maps)
        aucs.append(roc_auc_score(mask[sup], s))
    print(noise, maps, np.round(aucs, 3), flush=True)
