import math

import pytest
import torch

from cvkit.core.diffusion import classifier_free_guidance, predict_x0
from cvkit.papers.amg import (amg_epsilon, cosine_nearest, deduplication_scale, despecification_scale,
                              exponential_threshold, normalized_l2, parabolic_threshold, rms_distances)


def test_normalized_l2_hand_case_and_chunks():
    bank = torch.tensor([[1.0], [3.0], [10.0]])  # 1-D "images"
    x = torch.tensor([[0.0]])
    # ℓ2 = |a − b| / 2: distances 0.5 and 1.5 to the two nearest; nL2 = 0.5 / (0.5 · 1.0) = 1
    ratio, idx = normalized_l2(x, bank, k=2, alpha=0.5)
    assert ratio.item() == pytest.approx(1.0) and idx.item() == 0
    exact, _ = normalized_l2(bank[:1].clone(), bank, k=2)
    assert exact.item() == 0.0  # a copy of a training item
    gen = torch.Generator().manual_seed(0)
    big, q = torch.randn(100, 3, 4, 4, generator=gen), torch.randn(5, 3, 4, 4, generator=gen)
    r1, i1 = normalized_l2(q, big, k=10, chunk=7)
    r2, i2 = normalized_l2(q, big, k=10, chunk=1000)
    assert torch.allclose(r1, r2) and torch.equal(i1, i2)
    assert torch.allclose(rms_distances(q, big)[0, 0], ((q[0] - big[0]) ** 2).mean().sqrt() / 2)
    with pytest.raises(ValueError, match="differ in shape"):
        rms_distances(q, big[:, :2])


def test_cosine_nearest():
    bank = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    sim, idx = cosine_nearest(torch.tensor([[2.0, 0.1], [-1.0, 3.0]]), bank)
    assert idx.tolist() == [0, 1] and sim[0] > 0.99


def test_thresholds():
    assert exponential_threshold(0, 0.4, 0.3, 0.005).item() == pytest.approx(0.4)
    assert exponential_threshold(1000, 0.4, 0.3, 0.005).item() == pytest.approx(0.3 + 0.1 * math.exp(-5))
    assert parabolic_threshold(0, 1000, 0.4, 0.3).item() == pytest.approx(0.4)
    assert parabolic_threshold(1000, 1000, 0.4, 0.3).item() == pytest.approx(0.3)


def test_scales_respect_their_caps():
    sigma = torch.linspace(-1, 2, 31)
    s1 = despecification_scale(sigma, c1=13.0, s0=7.5)
    s2 = deduplication_scale(sigma, c2=20.0, s0=7.5, s1=s1)
    assert (s1 >= 0).all() and (s1 <= 6.5).all() and (s2 >= 0).all() and (s1 + s2 <= 6.5 + 1e-6).all()


def test_amg_epsilon_cases():
    gen = torch.Generator().manual_seed(1)
    eu, ec, en, grad = (torch.randn(4, 2, generator=gen) for _ in range(4))
    sigma = torch.tensor([0.9, 0.9, 0.01, 0.9])
    closed = torch.zeros(4, dtype=torch.bool)
    cfg = classifier_free_guidance(eu, ec, 3.0)
    assert torch.allclose(amg_epsilon(eu, ec, en, grad, sigma, closed, 0.5, 3.0, 10.0, 10.0, 5.0), cfg)
    gate = torch.tensor([True, False, True, True])
    out = amg_epsilon(eu, ec, None, torch.zeros_like(grad), sigma, gate, 0.5, 3.0, 10.0, 10.0, 5.0)
    assert torch.allclose(out[0], ec[0])  # s1 capped at s0 − 1: effective scale 1, the plain conditional prediction
    assert torch.allclose(out[1], cfg[1])  # gate closed
    assert torch.allclose(out[2], classifier_free_guidance(eu[2], ec[2], 3.0 - 0.1))  # s1 = c1·σ = 0.1
    uncond = amg_epsilon(eu, None, None, grad, sigma, gate, 0.36, 3.0, 1.0, 1.0, 2.0)
    assert torch.allclose(uncond, eu + gate[:, None] * 2.0 * 0.8 * grad)


def test_dissimilarity_guidance_lowers_similarity():
    # σ = cosine similarity of x̂0 to a memorized item; one guided step must move x̂0 away from it
    target = torch.tensor([[1.0, 0.0, 0.0]])
    x_t = torch.tensor([[0.9, 0.2, 0.1]], requires_grad=True)
    alphas = torch.tensor([0.5])
    eps = torch.zeros(1, 3)
    sim = torch.nn.functional.cosine_similarity(predict_x0(x_t, eps, torch.tensor(0), alphas), target)
    grad, = torch.autograd.grad(sim.sum(), x_t)
    guided = amg_epsilon(eps, None, None, grad, sim.detach(), torch.tensor([True]), 0.5, 1.0, 0, 0, 0.5)
    after = torch.nn.functional.cosine_similarity(predict_x0(x_t.detach(), guided, torch.tensor(0), alphas), target)
    assert after.item() < sim.item()
