
# %% [markdown]
# ## Detecting memorization while sampling
#
# At every step the sampler's current guess of the clean image, $\hat x_0$ (Tweedie's estimate), is compared with the
# training set. At pixel level the paper uses the normalised nearest-neighbour distance of Carlini et al.: the distance
# to the nearest training image divided by α times the mean distance to the k nearest,
# $\mathrm{nL_2} = \ell_2(\hat x_0, n_0) / (\alpha \cdot \frac1k \sum_{z \in S_k} \ell_2(\hat x_0, z))$, with k = 50 and
# α = 0.5. A copy of a training image that has no close siblings gets a small ratio; an image in a dense region, even
# if it is close to many training images, does not. With embeddings the similarity is the cosine to the nearest
# neighbour's embedding. We follow the official code's ℓ2 on images in [−1, 1]: the root-mean-square difference, halved.

# %%
#| export
def rms_distances(
    x: torch.Tensor,  # (B, ...) queries
    bank: torch.Tensor,  # (N, ...) training samples, same trailing shape
) -> torch.Tensor:
    "ℓ2(a, b) = √(mean((a − b)²)) / 2 between every query and every bank item, (B, N); differentiable in x."
    if x.shape[1:] != bank.shape[1:]:
        raise ValueError(f"queries {tuple(x.shape[1:])} and bank items {tuple(bank.shape[1:])} differ in shape")
    a, b = x.reshape(len(x), -1), bank.reshape(len(bank), -1).to(x)
    return torch.cdist(a, b) / math.sqrt(a.shape[1]) / 2


def normalized_l2(
    x: torch.Tensor,  # (B, ...) queries, e.g. x̂0
    bank: torch.Tensor,  # (N, ...) the training set
    k: int = 50,  # neighbours in the normaliser (capped at N)
    alpha: float = 0.5,
    chunk: int = 8192,  # bank items per distance block (memory)
) -> tuple[torch.Tensor, torch.Tensor]:
    "nL2 ratio (B,) — small means an isolated near-copy — and the index of the nearest training item (B,)."
    if len(bank) < 1:
        raise ValueError("the training bank is empty")
    k = min(k, len(bank))
    best_d, best_i = None, None
    for start in range(0, len(bank), chunk):  # keep the k smallest distances seen so far
        d = rms_distances(x, bank[start:start + chunk])
        i = torch.arange(start, start + d.shape[1], device=d.device).expand_as(d)
        if best_d is not None:
            d, i = torch.cat([best_d, d], 1), torch.cat([best_i, i], 1)
        best_d, order = d.topk(min(k, d.shape[1]), dim=1, largest=False)
        best_i = i.gather(1, order)
    ratio = best_d[:, 0] / (alpha * best_d.mean(1)).clamp_min(1e-12)
    return ratio, best_i[:, 0]


def cosine_nearest(
    emb: torch.Tensor,  # (B, E) embeddings of the queries
    bank: torch.Tensor,  # (N, E) embeddings of the training set
) -> tuple[torch.Tensor, torch.Tensor]:
    "Cosine similarity to the most similar bank item (B,) and its index (B,)."
    sims = F.normalize(emb, dim=1) @ F.normalize(bank.to(emb), dim=1).T
    best, idx = sims.max(dim=1)
    return best, idx

# %% [markdown]
# ## When to guide: the threshold λ_t
#
# Early in sampling $\hat x_0$ is a blur, so a similarity that would be alarming near the end means little at large t.
# The gate $\sigma_t > \lambda_t$ therefore uses a threshold that changes with t. The official code uses an exponential
# form, $\lambda(t) = \lambda_\infty + (\lambda_0 - \lambda_\infty) e^{-r t}$ (Stable Diffusion: λ₀ = 0.4, λ∞ = 0.3,
# r = 0.005 on the cosine similarity); the paper calls its schedule parabolic, which we write as
# $\lambda(t) = \lambda_T + (\lambda_0 - \lambda_T)(1 - t/T)^2$. Both equal λ₀ at t = 0.

# %%
#| export
def exponential_threshold(t: torch.Tensor | float, start: float, end: float, rate: float) -> torch.Tensor:
    "λ(t) = end + (start − end)·exp(−rate·t): `start` at t = 0, tending to `end`."
    t = torch.as_tensor(t, dtype=torch.float32)
    return end + (start - end) * torch.exp(-rate * t)


def parabolic_threshold(t: torch.Tensor | float, num_timesteps: int, start: float, end: float) -> torch.Tensor:
    "λ(t) = end + (start − end)·(1 − t/T)²: `start` at t = 0, `end` at t = T."
    t = torch.as_tensor(t, dtype=torch.float32)
    return end + (start - end) * (1 - t / num_timesteps) ** 2

# %% [markdown]
# ## The three guidances (Eqs. 10, 13–17)
#
# Starting from classifier-free guidance $\hat\epsilon = \epsilon_\varnothing + s_0(\epsilon_y - \epsilon_\varnothing)$,
# a sample whose similarity passes the gate gets three corrections:
#
# - **despecification**, $G_{spe} = -s_1(\epsilon_y - \epsilon_\varnothing)$ with $s_1 = \max(\min(c_1\sigma, s_0 - 1), 0)$:
#   the prompt's pull shrinks with the similarity, but the effective scale never drops below 1;
# - **caption deduplication**, $G_{dup} = -s_2(\epsilon_{y_N} - \epsilon_\varnothing)$ with
#   $s_2 = \max(\min(c_2\sigma, s_0 - s_1 - 1), 0)$: the nearest neighbour's caption $y_N$ becomes a negative prompt;
#   together $s_1 + s_2 \le s_0 - 1$;
# - **dissimilarity**, $G_{sim} = c_3\sqrt{1-\bar\alpha_t}\,\nabla_{x_t}\sigma_t$: classifier guidance with the sign
#   flipped. Adding it to ε̂ moves $\hat x_0$ *against* the similarity gradient, the only term that can leave the plane
#   spanned by the model's own predictions.
#
# Unconditional models get only $G_{sim}$; class-conditional ones get $G_{spe}$ and $G_{sim}$.

# %%
#| export
def despecification_scale(sigma: torch.Tensor, c1: float, s0: float) -> torch.Tensor:
    "s1 = max(min(c1·σ, s0 − 1), 0), per sample."
    return (c1 * sigma).clamp(min=0.0, max=max(s0 - 1.0, 0.0))


def deduplication_scale(sigma: torch.Tensor, c2: float, s0: float, s1: torch.Tensor) -> torch.Tensor:
    "s2 = max(min(c2·σ, s0 − s1 − 1), 0), per sample."
    return torch.minimum(c2 * sigma, s0 - s1 - 1.0).clamp_min(0.0)


def _per_sample(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return v.reshape(-1, *([1] * (like.dim() - 1))).to(like)


def amg_epsilon(
    eps_uncond: torch.Tensor,  # (B, ...) ε(x_t)
    eps_cond: torch.Tensor | None,  # (B, ...) ε(x_t, y); None for an unconditional model
    eps_negative: torch.Tensor | None,  # (B, ...) ε(x_t, y_N) with the neighbour's caption; None: no G_dup
    sim_grad: torch.Tensor,  # (B, ...) ∇_{x_t} σ_t
    sigma: torch.Tensor,  # (B,) similarity σ_t (higher: more similar)
    gate: torch.Tensor,  # (B,) bool: σ_t > λ_t
    alpha_bar: float | torch.Tensor,  # ᾱ_t
    s0: float,  # classifier-free guidance scale
    c1: float,  # despecification strength
    c2: float,  # deduplication strength
    c3: float,  # dissimilarity strength
) -> torch.Tensor:
    "The guided noise prediction ε̂ (B, ...) of Eq. 10: CFG plus, where the gate is open, G_spe + G_dup + G_sim."
    g = _per_sample(gate.float(), eps_uncond)
    g_sim = c3 * math.sqrt(1.0 - float(alpha_bar)) * sim_grad
    if eps_cond is None:  # unconditional: only the dissimilarity guidance
        return eps_uncond + g * g_sim
    direction = eps_cond - eps_uncond
    s1 = despecification_scale(sigma, c1, s0)
    eps = eps_uncond + s0 * direction - g * _per_sample(s1, direction) * direction
    if eps_negative is not None:
        s2 = deduplication_scale(sigma, c2, s0, s1)
        eps = eps - g * _per_sample(s2, direction) * (eps_negative - eps_uncond)
    return eps + g * g_sim
