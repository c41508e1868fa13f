import torch
torch.set_num_threads(1)
from cvkit.core.backbones import load_mobilenet_v2, multiscale_features
from cvkit.papers import glow as G
import torch.nn.functional as F
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
alpha = 2.5 * eps / steps
res = []
for idx, q in ((last, p), ([6] * 16, 0)):
    x0, clean, goals = setup(idx)
    z = x0.clone().requires_grad_(True)
    g, = torch.autograd.grad(G.attack_loss(head(multiscale_features(backbone, z, layers=G.LAYERS)), clean, goals).sum(), z)
    x1 = torch.min(torch.max(x0 - alpha * g.sign(), x0 - eps), x0 + eps).clamp(0, 1)
    with torch.no_grad():
        out = head(multiscale_features(backbone, x1, layers=G.LAYERS))
    heat = out["heat"].clone().requires_grad_(True)
    o = dict(out, heat=heat)
    terms = {}
    b, cc, y, xx = goals["b"], goals["c"], goals["y"], goals["x"]
    terms["raise"] = F.softplus(-heat[b, cc, y, xx]).sum()
    terms["lower"] = F.softplus(heat[goals["s_b"], goals["s_c"], goals["s_y"], goals["s_x"]]).sum()
    terms["keep"] = (10.0 * (goals["keep"] * (heat.sigmoid() - clean["heat"].sigmoid()) ** 2).flatten(1).sum(1)).sum()
    terms["all"] = G.attack_loss(o, clean, goals).sum()
    r = {"heat": heat.detach()[q]}
    for k, v in terms.items():
        r[k] = torch.autograd.grad(v, heat)[0][q]
    res.append(r)
A, B = res
for k in A:
    d = (A[k] - B[k]).abs()
    print(k, float(d.max()), int((d > 0).sum()))
d = (A["all"] - B["all"]).abs(); i = d.flatten().argmax()
print("at", [int(v) for v in torch.unravel_index(i, d.shape)], "heat", float(A["heat"].flatten()[i]), A["all"].flatten()[i].item(), B["all"].flatten()[i].item())
