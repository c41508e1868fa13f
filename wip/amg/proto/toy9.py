import math, time, sys, torch, numpy as np
torch.set_num_threads(2)
from cvkit.core.diffusion import TimeMLP, train_diffusion, alphas_cumprod_schedule, ddim_timesteps, ddim_step, predict_x0, classifier_free_guidance
from cvkit.papers.amg import normalized_l2, amg_epsilon, exponential_threshold
seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
g = torch.Generator().manual_seed(seed)
D = 8
def ring(n, r, gen): a = torch.rand(n, generator=gen) * 2 * math.pi; return torch.cat([torch.stack([r * a.cos(), r * a.sin()], 1) + 0.03 * torch.randn(n, 2, generator=gen), 0.2 * torch.randn(n, D - 2, generator=gen)], 1)
A, B = ring(256, 1.0, g), ring(256, 2.0, g)
sig = torch.cat([torch.tensor([[1.5, 0.0]]), 0.2 * torch.randn(1, D - 2, generator=g)], 1)  # an isolated point between the rings, with its own caption
data = torch.cat([A, B, sig.repeat(200, 1)]); labels = torch.cat([torch.zeros(256), torch.ones(256), torch.full((200,), 2)]).long()
bank = torch.unique(data, dim=0); print("bank", len(bank))
T = 100; ac = alphas_cumprod_schedule(T, "linear", 1e-4, 0.02)
model = TimeMLP(D, 128, 3, num_classes=3)
t0 = time.time(); losses = train_diffusion(model, data, ac, 1500, 512, 1e-3, labels, 0.1, seed); print("train", round(time.time() - t0, 1), "s loss", np.mean(losses[-100:]).round(3))
# memorization threshold: 1st percentile of nL2 of fresh true samples (ring A points) against the training set
fresh = ring(2000, 1.0, torch.Generator().manual_seed(seed + 100))
tau = torch.quantile(normalized_l2(fresh, bank, k=50)[0], 0.01).item(); print("tau", round(tau, 3))
def sample(y, mode, n=512, s0=3.0, c1=5.0, c3=float(sys.argv[2]) if len(sys.argv) > 2 else 1.0, lam=None):
    lam = (1.07 * tau, 1.39 * tau, 0.05) if lam is None else lam
    c3 = 3 * c3 if mode == 'strong' else c3
    gen = torch.Generator().manual_seed(seed + 7)
    x = torch.randn(n, D, generator=gen); ts = ddim_timesteps(T, 50); fired = 0
    yy = torch.full((n,), y); null = torch.full((n,), 3)
    for i, t in enumerate(ts.tolist()):
        tb = torch.full((n,), t)
        with torch.no_grad():
            eu, ec = model(x, tb, null), model(x, tb, yy)
        eps = classifier_free_guidance(eu, ec, s0)
        if mode != "cfg":
            xg = x.clone().requires_grad_(True)
            x0 = predict_x0(xg, eps, torch.tensor(t), ac.float())
            nl2, _ = normalized_l2(x0, bank, k=50)
            sigma = -nl2
            grad, = torch.autograd.grad(sigma.sum(), xg)
            thr = exponential_threshold(t, *lam)  # on nL2: guide when nL2 < thr
            gate = nl2.detach() < thr if mode != "always" else torch.ones(n, dtype=torch.bool)
            margin = (thr - nl2.detach()).clamp_min(0)
            fired += gate.float().mean().item()
            g_sim = margin[:, None] * grad if mode != "nosim" else torch.zeros_like(grad)  # official: strength ∝ margin over the threshold
            eps = amg_epsilon(eu, ec, None, g_sim, margin, gate, float(ac[t]), s0, c1, 0.0, c3)
        x, _ = ddim_step(x, eps, t, int(ts[i + 1]) if i + 1 < len(ts) else -1, ac.float())
    nl2, idx = normalized_l2(x, bank, k=50)
    return x, (nl2 < tau).float().mean().item(), fired / len(ts)
from scipy import linalg
def frechet(a, b):
    a, b = a.double().numpy(), b.double().numpy()
    ma, mb, ca, cb = a.mean(0), b.mean(0), np.cov(a.T), np.cov(b.T)
    return float(((ma - mb) ** 2).sum() + np.trace(ca + cb - 2 * linalg.sqrtm(ca @ cb).real))
ref0 = ring(2000, 1.0, torch.Generator().manual_seed(seed + 200))
for y in (2, 0):
    for mode in ("cfg", "amg", "strong", "nosim", "always"):
        x, mem, fired = sample(y, mode)
        r = x[:, :2].norm(dim=1)
        print(f"y={y} {mode:7s} memorized {mem:.3f} dist-to-sig<0.05 {((x - sig).norm(dim=1) < 0.1).float().mean():.3f} fired {fired:.2f} radius {r.mean():.2f}±{r.std():.2f} FD {frechet(x, ref0) if y == 0 else float('nan'):.3f}", flush=True)
