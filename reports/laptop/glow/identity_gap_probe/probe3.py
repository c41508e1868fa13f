import time, numpy as np, torch
torch.set_num_threads(1)
from cvkit.core.backbones import load_mobilenet_v2
from cvkit.papers import glow as G
backbone = load_mobilenet_v2()
c = torch.load("/tmp/glowprobe/captured.pt", weights_only=False)
imgs, lays, plans, head = c["images"], c["layouts"], c["plans"], c["head"]
N = len(plans); print("jobs", N)
twins, idents = [0, 3, 6, 9], list(range(N - 4, N))
for t, i in zip(twins, idents):
    assert plans[t].edits == plans[i].edits and (imgs[t] == imgs[i]).all() and lays[t] is lays[i] or True
def att(idx, batch=16):
    return G.attack_images(backbone, head, imgs[idx], [lays[i] for i in idx], [plans[i] for i in idx],
                           eps=c["eps"], steps=c["steps"], batch=batch)
t0 = time.time()
run0 = att(list(range(16)))          # chunk 0 as in the run
run18 = att(list(range(N - 16, N)))  # last chunk as in the run
print("two chunks", time.time() - t0, flush=True)
for t, i in zip(twins, idents):
    print(f"twin {t} vs identity {i}: gap {float((run0[t] - run18[i - (N - 16)]).abs().max()) * 255:.1f}/255", flush=True)
# identity job alone, padded copies, and batch 1
for t in twins:
    alone = att([t])[0]; one = att([t], batch=1)[0]
    print(f"job {t}: alone(padded) vs chunk0 {float((alone - run0[t]).abs().max())*255:.1f}; batch1 vs chunk0 {float((one - run0[t]).abs().max())*255:.1f}", flush=True)
# swap only the position: chunk 0 in reverse order
rev = att(list(range(15, -1, -1)))
print("chunk0 reversed, gaps per job:", [round(float((rev[15 - k] - run0[k]).abs().max()) * 255, 1) for k in range(16)], flush=True)
# chunk 0 with job 15 replaced by job 100 (one neighbour changed)
alt = att(list(range(15)) + [100])
print("chunk0 one neighbour changed, gaps:", [round(float((alt[k] - run0[k]).abs().max()) * 255, 1) for k in range(15)], flush=True)
# gradient at step 0 of job 0 in chunk 0 vs last chunk position
