import time, numpy as np, torch
torch.set_num_threads(1)
from cvkit.core.backbones import load_mobilenet_v2, multiscale_features
from cvkit.papers import glow as G
backbone = load_mobilenet_v2()
c = torch.load("/tmp/glowprobe/captured.pt", weights_only=False)
imgs, lays, plans, head = c["images"], c["layouts"], c["plans"], c["head"]
N = len(plans); eps, steps = c["eps"], c["steps"]
last = list(range(N - 16, N)); p = 14
def setup(idx):
    x = G.to_tensor_images(imgs[idx])
    with torch.no_grad():
        clean = head(multiscale_features(backbone, x, layers=G.LAYERS))
    goals = G.attack_targets([plans[i] for i in idx], [lays[i] for i in idx], grid=clean["heat"].shape[-1])
    return x, clean, goals
XA = setup(last); XB = setup([6] * 16)
alpha = 2.5 * eps / steps
xa, xb = XA[0].clone(), XB[0].clone()
for s in range(steps):
    ra, rb = {}, {}
    for (x0, clean, goals), x, r in ((XA, xa, ra), (XB, xb, rb)):
        z = x.clone().requires_grad_(True)
        f = multiscale_features(backbone, z, layers=G.LAYERS)
        out = head(f)
        for k in out: out[k].retain_grad()
        for t in f: t.retain_grad()
        l = G.attack_loss(out, clean, goals)
        l.sum().backward()
        r.update(f=[t.detach() for t in f], fg=[t.grad for t in f], out={k: v.detach() for k, v in out.items()},
                 og={k: v.grad for k, v in out.items()}, l=l.detach(), g=z.grad)
    d = lambda a, b: float((a[p] - b[0]).abs().max())
    print(s, "x", d(xa, xb), "feat", [d(a, b) for a, b in zip(ra["f"], rb["f"])], "out", {k: d(ra["out"][k], rb["out"][k]) for k in ra["out"]},
          "loss", d(ra["l"], rb["l"]), "outgrad", {k: d(ra["og"][k], rb["og"][k]) for k in ra["og"]},
          "featgrad", [d(a, b) for a, b in zip(ra["fg"], rb["fg"])], "grad", d(ra["g"], rb["g"]), flush=True)
    if d(ra["g"], rb["g"]) > 0:
        ga, gb = ra["g"][p], rb["g"][0]
        diff = (ga != gb)
        print("  differing grad entries", int(diff.sum()), "values a", ga[diff][:5].tolist(), "b", gb[diff][:5].tolist())
        print("  nonfinite in batch A losses?", ra["l"].tolist())
        break
    xa = torch.min(torch.max(xa - alpha * ra["g"].sign(), XA[0] - eps), XA[0] + eps).clamp(0, 1)
    xb = torch.min(torch.max(xb - alpha * rb["g"].sign(), XB[0] - eps), XB[0] + eps).clamp(0, 1)
