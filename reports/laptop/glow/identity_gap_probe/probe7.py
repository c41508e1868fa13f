import time, numpy as np, torch
torch.set_num_threads(1)
from cvkit.core.backbones import load_mobilenet_v2
from cvkit.papers import glow as G
backbone = load_mobilenet_v2()
c = torch.load("/tmp/glowprobe/captured.pt", weights_only=False)
imgs, lays, plans, head = c["images"], c["layouts"], c["plans"], c["head"]
N = len(plans)
def att(idx):
    return G.attack_images(backbone, head, imgs[idx], [lays[i] for i in idx], [plans[i] for i in idx], eps=c["eps"], steps=c["steps"])
t = time.time()
a = att(list(range(N)))
perm = np.random.default_rng(1).permutation(N)
b = att(list(perm))
inv = np.argsort(perm)
gap = (a - b[inv]).flatten(1).abs().max(1).values
print(f"all {N} jobs, run order vs shuffled order: largest gap {float(gap.max()) * 255:.2f}/255, jobs differing {int((gap > 0).sum())}; {time.time() - t:.0f} s")
