"""cvkit.core.diffusion: agreement with diffusers' schedulers, the Tweedie estimate, guidance, the DDIM loop, training."""
import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler

from cvkit.core.diffusion import (TimeMLP, add_noise, alphas_cumprod_schedule, classifier_free_guidance, ddim_sample,
                                  ddim_step, ddim_timesteps, epsilon_loss, predict_eps, predict_x0,
                                  timestep_embedding, train_diffusion)

AC = alphas_cumprod_schedule(1000)


def test_schedule_matches_diffusers_and_rejects_bad_input():
    for sched in ("linear", "scaled_linear", "squaredcos_cap_v2"):
        ref = DDPMScheduler(num_train_timesteps=1000, beta_schedule=sched).alphas_cumprod
        assert torch.allclose(alphas_cumprod_schedule(1000, sched).float(), ref)
    short = DDPMScheduler(num_train_timesteps=50, beta_end=0.4).alphas_cumprod
    assert torch.allclose(alphas_cumprod_schedule(50, beta_end=0.4).float(), short)
    from cvkit.core.diffusion import terminal_signal
    assert terminal_signal(AC) < 0.01 and 0.5 < terminal_signal(alphas_cumprod_schedule(100)) < 0.7
    with pytest.raises(ValueError, match="beta_schedule"):
        alphas_cumprod_schedule(100, "cosine-ish")
    with pytest.raises(ValueError, match="at least 2"):
        alphas_cumprod_schedule(1)


def test_add_noise_matches_diffusers():
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(5, 3, 4, 4, generator=g), torch.randn(5, 3, 4, 4, generator=g)
    t = torch.tensor([0, 1, 250, 700, 999])
    ref = DDPMScheduler(num_train_timesteps=1000).add_noise(x0, eps, t)
    assert torch.allclose(add_noise(x0, eps, t, AC), ref, atol=1e-6)


def test_tweedie_inverts_the_forward_process():
    g = torch.Generator().manual_seed(1)
    x0, eps = torch.randn(6, 7, generator=g, dtype=torch.float64), torch.randn(6, 7, generator=g, dtype=torch.float64)
    t = torch.tensor([0, 3, 100, 500, 900, 999])
    xt = add_noise(x0, eps, t, AC)
    assert torch.allclose(predict_x0(xt, eps, t, AC), x0, atol=1e-8)
    assert torch.allclose(predict_eps(xt, x0, t, AC), eps, atol=1e-8)


def test_bad_timesteps_and_shapes():
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=r"lie in \[0, 999\]"):
        add_noise(x, x, torch.tensor([0, 1000]), AC)
    with pytest.raises(ValueError, match="one entry per sample"):
        add_noise(x, x, torch.tensor([1, 2, 3]), AC)
    with pytest.raises(ValueError, match="same shape"):
        add_noise(x, torch.zeros(2, 4), torch.tensor(1), AC)
    with pytest.raises(ValueError, match="same shape"):
        ddim_step(x, torch.zeros(3, 3), 10, 0, AC)
    with pytest.raises(ValueError, match="same shape"):
        classifier_free_guidance(x, torch.zeros(1, 3), 2.0)
    with pytest.raises(ValueError, match="num_steps"):
        ddim_timesteps(100, 101)


@pytest.mark.parametrize("num_train,steps", [(1000, 50), (1000, 7), (100, 100), (999, 30)])
def test_timesteps_match_diffusers(num_train, steps):
    ref = DDIMScheduler(num_train_timesteps=num_train)
    ref.set_timesteps(steps)
    assert torch.equal(ddim_timesteps(num_train, steps), ref.timesteps)


@pytest.mark.parametrize("clip", [False, True])
def test_ddim_step_matches_diffusers(clip):
    ref = DDIMScheduler(num_train_timesteps=1000, clip_sample=clip)
    ref.set_timesteps(50)
    g = torch.Generator().manual_seed(2)
    ts = ref.timesteps.tolist()
    for i, t in enumerate(ts):
        x, e = torch.randn(3, 4, 8, 8, generator=g), torch.randn(3, 4, 8, 8, generator=g)
        t_prev = ts[i + 1] if i + 1 < len(ts) else -1
        ours, _ = ddim_step(x, e, t, t_prev, AC, clip_x0=1.0 if clip else None)
        theirs = ref.step(e, t, x, eta=0.0).prev_sample
        assert torch.allclose(ours, theirs, atol=1e-5), f"step at t={t}"


def test_whole_ddim_loop_matches_diffusers():
    g = torch.Generator().manual_seed(3)
    W = torch.randn(16, 16, generator=g) * 0.1

    def model(x, t):  # any deterministic function of (x_t, t) serves as a stand-in network
        return torch.tanh(x @ W) * (1 + t.float()[:, None] / 1000)

    x_T = torch.randn(4, 16, generator=torch.Generator().manual_seed(4))
    ours = ddim_sample(model, (4, 16), AC, num_steps=25, x_T=x_T)
    ref = DDIMScheduler(num_train_timesteps=1000, clip_sample=False)
    ref.set_timesteps(25)
    x = x_T.clone()
    for t in ref.timesteps:
        x = ref.step(model(x, torch.full((4,), int(t))), t, x, eta=0.0).prev_sample
    assert torch.allclose(ours, x, atol=1e-5)


def test_eps_hook_rewrites_every_step_and_sampling_is_seeded():
    seen = []

    def hook(x, t, eps, i):
        seen.append((t, i))
        return torch.zeros_like(eps)  # with ε̂ = 0 every step is a pure rescaling toward x̂0 = x_t / √ᾱ_t

    out = ddim_sample(lambda x, t: torch.ones_like(x), (2, 3), AC, num_steps=4, eps_hook=hook,
                      generator=torch.Generator().manual_seed(0))
    assert seen == [(750, 0), (500, 1), (250, 2), (0, 3)]
    x_T = torch.randn((2, 3), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(out, x_T / AC[750].sqrt().float(), atol=1e-5)
    a = ddim_sample(lambda x, t: 0.1 * x, (2, 3), AC, 5, generator=torch.Generator().manual_seed(9))
    b = ddim_sample(lambda x, t: 0.1 * x, (2, 3), AC, 5, generator=torch.Generator().manual_seed(9))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="x_T has shape"):
        ddim_sample(lambda x, t: x, (2, 3), AC, 5, x_T=torch.zeros(3, 3))


def test_guidance_special_cases():
    u, c = torch.randn(3, 2), torch.randn(3, 2)
    assert torch.allclose(classifier_free_guidance(u, c, 0.0), u)
    assert torch.allclose(classifier_free_guidance(u, c, 1.0), c)
    assert torch.allclose(classifier_free_guidance(u, c, 3.0), u + 3 * (c - u))


def test_timestep_embedding_and_model_shapes():
    emb = timestep_embedding(torch.tensor([0, 5, 999]), 16)
    assert emb.shape == (3, 16) and torch.allclose(emb[0, :8], torch.ones(8))
    with pytest.raises(ValueError, match="even"):
        timestep_embedding(torch.tensor([1]), 7)
    net = TimeMLP(2, hidden=16, depth=1, num_classes=3)
    out = net(torch.zeros(4, 2), torch.tensor([1, 2, 3, 4]), torch.tensor([0, 1, 2, 3]))
    assert out.shape == (4, 2) and net.null_class == 3
    assert torch.allclose(net(torch.zeros(1, 2), torch.tensor([5])), net(torch.zeros(1, 2), torch.tensor([5]), torch.tensor([3])))
    with pytest.raises(ValueError, match=r"shape \(B, 2\)"):
        net(torch.zeros(4, 3), torch.tensor([1, 2, 3, 4]))


def test_training_learns_a_point_mass():
    torch.manual_seed(0)
    data = torch.tensor([[1.0, -1.0]]).repeat(256, 1)
    sched = alphas_cumprod_schedule(100)
    net = TimeMLP(2, hidden=32, depth=1)
    losses = train_diffusion(net, data, sched, steps=600, batch_size=64, lr=3e-3, seed=0)
    assert sum(losses[-30:]) / 30 < 0.5 * sum(losses[:30]) / 30
    samples = ddim_sample(lambda x, t: net(x, t), (64, 2), sched, num_steps=50, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(samples.mean(0), torch.tensor([1.0, -1.0]), atol=0.15)


def test_label_dropout_needs_a_null_class():
    net = TimeMLP(2, hidden=8, depth=1, num_classes=2)
    g = torch.Generator().manual_seed(0)
    x0, y = torch.zeros(8, 2), torch.zeros(8, dtype=torch.long)
    assert epsilon_loss(net, x0, AC, g, y, cond_drop=0.5, null_class=2) > 0
    with pytest.raises(ValueError, match="null_class"):
        epsilon_loss(net, x0, AC, g, y, cond_drop=0.5)
    with pytest.raises(ValueError, match="labels"):
        train_diffusion(net, x0, AC, steps=1, labels=torch.zeros(3, dtype=torch.long))
