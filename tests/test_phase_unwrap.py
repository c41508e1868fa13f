"""cvkit.papers.phase_unwrap: the wrap, the gradient and its adjoint, classical unwrappers, metrics, recorruption,
the unrolled network and its training step, the claims' specs and paired measurements, and clear errors on bad input."""
import math

import numpy as np
import pytest
import torch

from cvkit.core.claims import MIN_COMPARED_N, NOT_CHECKABLE, SCALES, UNDECIDED, Measurement, NotMeasured, decide
from cvkit.papers.phase_unwrap import (
    CONFIGS, PHASE_TYPES, RUN_UNIT, SPECS, PhaseUnwrapConfig, PlainUNet, UnrolledPU, UNetSA, aligned_rmse, center_crop,
    claim_measurements, claim_measurements_over_runs, count_parameters, identity_control, low_frequency_share,
    measure_claims, regime_experiment, run_replicates, sanity_values_over_runs, estimate_sigma, grad, grad_adjoint, make_phase, make_phase_set, no_truth_scores,
    matching_plain_unet, max_slope, nrmse, observe, recorrupt, run_experiment, sample_batch, sanity_values,
    self_reconstruction_loss, snr_to_sigma, soft_threshold, stage_weights, train, training_step_loss, unwrap_itoh,
    unwrap_ls_dct, unwrap_network, unwrap_network_batch, unwrap_skimage, wrap, wrap_error_rate)


def smooth_phase(size=48, seed=0):
    return make_phase("mog", size, np.random.default_rng(seed))


def test_wrap_range_periodicity_and_idempotence():
    theta = np.random.default_rng(0).uniform(-50, 50, 10_000)
    w = wrap(theta)
    assert w.min() >= -math.pi and w.max() < math.pi
    assert np.allclose(wrap(theta + 2 * math.pi * 7), w, atol=1e-9)
    assert np.allclose(wrap(w), w) and np.allclose(np.exp(1j * w), np.exp(1j * theta))
    assert wrap(np.array([-1e-17]))[0] < math.pi  # the rounding corner lands inside [-π, π)
    assert wrap(np.array([math.pi]))[0] == -math.pi
    t = torch.from_numpy(theta)
    assert torch.allclose(wrap(t), torch.from_numpy(w))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_wrap_at_the_seam_stays_in_range_in_the_inputs_precision(dtype):
    # values whose (x + π) mod 2π rounds to 2π: the guard must subtract 2π in the input's own precision
    tiny = torch.tensor([-1e-17, -1e-16, -5e-8, -1e-300], dtype=dtype)
    w = wrap(tiny)
    assert w.dtype == dtype and (w >= -math.pi).all() and (w < math.pi).all()
    assert torch.allclose(w, tiny, atol=1e-6)  # a tiny negative angle is (almost) itself, not −π − 1.7e-7
    seam = wrap(torch.tensor([math.pi, -math.pi, 3 * math.pi], dtype=dtype))
    assert (seam >= -math.pi).all() and (seam < math.pi).all()
    n = wrap(np.array([-1e-17, math.pi]))
    assert n.dtype == np.float64 and n.min() >= -math.pi and n.max() < math.pi


def test_unwrap_network_batch_refuses_bad_input():
    net = UnrolledPU(1, 1, outlier_hidden=4)
    y = np.zeros((2, 32, 32))
    out = unwrap_network_batch(net, y, np.array([0.3, 0.3]))
    assert out.shape == (2, 32, 32) and np.isfinite(out).all()
    for sigma, message in [(np.array([-0.1, 0.3]), "non-negative"), (np.array([np.nan, 0.3]), "non-negative"),
                           (np.array([0.3]), "one noise level per image"), (0.3, "one noise level per image")]:
        with pytest.raises(ValueError, match=message):
            unwrap_network_batch(net, y, sigma)
    with pytest.raises(ValueError, match=r"stack \(N, H, W\)"):
        unwrap_network_batch(net, np.zeros((32, 32)), np.array([0.3]))
    with pytest.raises(ValueError, match="NaN"):
        unwrap_network_batch(net, np.full((1, 32, 32), np.nan), np.array([0.3]))
    with pytest.raises(ValueError, match="wrap it first"):  # an already unwrapped phase
        unwrap_network_batch(net, np.full((1, 32, 32), 5.0), np.array([0.3]))
    with pytest.raises(ValueError, match="divisible by 16"):
        unwrap_network_batch(net, np.zeros((1, 40, 40)), np.array([0.3]))
    with pytest.raises(ValueError, match="NaN"):
        unwrap_network(net, np.full((32, 32), np.nan), 0.3)
    for sigma in (math.nan, math.inf, -1.0):
        with pytest.raises(ValueError, match="non-negative"):
            unwrap_network(net, np.zeros((32, 32)), sigma)


def test_snr_to_sigma_matches_the_official_rule():
    assert snr_to_sigma(10) == pytest.approx(math.sqrt(10**0.1 / 10), rel=1e-12)
    assert snr_to_sigma(0) == pytest.approx(1.1220, abs=1e-4)
    with pytest.raises(ValueError, match="finite"):
        snr_to_sigma(float("nan"))


def test_grad_convention_and_adjoint_identity():
    gen = torch.Generator().manual_seed(0)
    for shape in [(7, 9), (3, 11, 5), (2, 1, 16, 16)]:
        x = torch.randn(shape, dtype=torch.float64, generator=gen)
        p = torch.randn(*shape[:-2], 2, *shape[-2:], dtype=torch.float64, generator=gen)
        g = grad(x)
        assert g.shape == p.shape
        assert abs(float((g * p).sum() - (x * grad_adjoint(p)).sum())) < 1e-10
    x = torch.arange(12.0).reshape(3, 4)
    assert torch.equal(grad(x)[0], torch.tensor([[0.0, 1, 1, 1]] * 3))
    assert torch.equal(grad(x)[1], torch.tensor([[0.0] * 4, [4.0] * 4, [4.0] * 4]))


def test_classical_unwrappers_are_exact_without_noise():
    phase = smooth_phase()
    assert max_slope(phase) < math.pi
    for unwrap in (unwrap_itoh, unwrap_ls_dct, unwrap_skimage):
        assert aligned_rmse(phase, unwrap(wrap(phase))) < 1e-8


def test_ls_dct_solves_the_normal_equations_with_noise():
    phase = smooth_phase(seed=1)
    y = observe(phase, snr_to_sigma(5), np.random.default_rng(0))
    x = torch.from_numpy(unwrap_ls_dct(y))
    yt = torch.from_numpy(y)
    residual = grad_adjoint(grad(x)) - grad_adjoint(wrap(grad(yt)))
    assert float(residual.abs().max()) < 1e-9 and abs(float(x.mean())) < 1e-9


def test_metrics_invariances():
    rng = np.random.default_rng(0)
    truth = smooth_phase()
    est = truth + 0.2 * rng.standard_normal(truth.shape)
    assert nrmse(truth, 2.5 * est - 3.0) == pytest.approx(nrmse(truth, est))
    assert nrmse(truth, truth + 4.0) < 1e-10 and aligned_rmse(truth, truth - 9.0) < 1e-12
    assert aligned_rmse(truth, est) == pytest.approx(0.2, rel=0.1)
    assert wrap_error_rate(truth, truth + 2 * math.pi) == 0.0
    shifted = truth.copy()
    shifted[:12] += 2 * math.pi
    assert wrap_error_rate(truth, shifted) == pytest.approx(12 / 48)
    assert nrmse(truth, est, swapped=True) != nrmse(truth, est)
    with pytest.raises(ValueError, match="differ in shape"):
        nrmse(truth, truth[:-1])
    with pytest.raises(ValueError, match="constant"):
        nrmse(np.ones((4, 4)), truth[:4, :4])


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="2-D"):
        unwrap_ls_dct(np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match=r"wrapped phase with values in \[-π, π\)"):
        unwrap_itoh(np.full((8, 8), 4.0))
    with pytest.raises(ValueError, match="NaN"):
        unwrap_skimage(np.full((8, 8), np.nan))
    with pytest.raises(ValueError, match="non-negative"):
        observe(smooth_phase(), -0.1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown phase type"):
        make_phase("sine", 32, np.random.default_rng(0))
    with pytest.raises(ValueError, match="at least 16"):
        make_phase("mog", 8, np.random.default_rng(0))
    net = UnrolledPU(1, 1, outlier_hidden=4)
    with pytest.raises(ValueError, match="divisible by 16"):
        unwrap_network(net, np.zeros((40, 40)), 0.3)
    with pytest.raises(ValueError, match="non-negative"):
        unwrap_network(net, np.zeros((32, 32)), -1.0)
    with pytest.raises(ValueError, match="divisible by 16"):
        UNetSA()(torch.zeros(1, 2, 24, 24))
    with pytest.raises(ValueError, match="non-negative"):
        recorrupt(torch.zeros(1, 1, 16, 16), torch.tensor([-1.0]), torch.Generator())
    with pytest.raises(ValueError, match="unknown training mode"):
        train(net, make_phase_set(2, 16, ["mog"], [10], 0), "magic", 1, 1, 0, progress=False)
    with pytest.raises(ValueError, match="teacher"):
        y, s, x = sample_batch(make_phase_set(2, 16, ["mog"], [10], 0), 2, np.random.default_rng(0))
        training_step_loss(net, "sd", y, s, x, torch.Generator())


def test_phase_types_have_the_documented_heights():
    rng = np.random.default_rng(0)
    for kind in PHASE_TYPES:
        for _ in range(3):
            x = make_phase(kind, 64, rng)
            assert x.shape == (64, 64) and np.all(np.isfinite(x))
            if kind == "mog":
                assert 8 * math.pi * 0.25 - 1e-9 <= np.ptp(x) <= 20 * math.pi * 0.25 + 1e-9


def test_phase_set_covers_every_type_and_snr_equally():
    ds = make_phase_set(24, 32, PHASE_TYPES, (0, 5, 10, 20), seed=0)
    cells = {(k, s) for k, s in zip(ds.kinds, ds.snr_db)}
    assert len(cells) == 12 and len(ds) == 24
    assert np.all(np.abs(ds.wrapped) <= math.pi) and np.allclose(ds.sigma, [snr_to_sigma(s) for s in ds.snr_db])


def test_recorruption_statistics():
    """n' keeps Y + n' a valid wrapped phase; input and target noises are uncorrelated and each ≈ √2 × the
    measurement's gradient noise (away from wrapping, at a moderate noise level)."""
    phase = smooth_phase(64)
    sigma = snr_to_sigma(15)
    y = torch.from_numpy(observe(phase, sigma, np.random.default_rng(0))).float()[None, None].expand(32, -1, -1, -1)
    g_plus, g_minus = recorrupt(y, torch.full((32,), sigma), torch.Generator().manual_seed(0))
    assert g_plus.shape == g_minus.shape == (32, 1, 2, 64, 64)
    assert float(g_plus.abs().max()) <= math.pi
    truth = grad(torch.from_numpy(phase).float())
    e_in, e_out = wrap(g_plus - truth)[..., 1:, 1:].flatten(), wrap(g_minus - truth)[..., 1:, 1:].flatten()
    e_meas = wrap(wrap(grad(y[0])) - truth)[..., 1:, 1:].flatten()
    assert abs(float(torch.corrcoef(torch.stack([e_in, e_out]))[0, 1])) < 0.05
    assert float(e_in.std() / e_meas.std()) == pytest.approx(math.sqrt(2), rel=0.1)


def test_losses_and_stage_weights():
    assert stage_weights(3) == [1 / 3, 1 / 2, 1.0]
    x = torch.randn(2, 1, 16, 16)
    assert float(self_reconstruction_loss([x, x], grad(x))) == 0.0
    assert float(self_reconstruction_loss([x], grad(x) + 2 * math.pi)) < 1e-8  # 2π jumps cost nothing
    assert torch.allclose(soft_threshold(torch.tensor([-1.0, 0.05, 0.3]), 0.1), torch.tensor([-0.9, 0.0, 0.2]))


def test_networks_shapes_and_parameter_matching():
    torch.manual_seed(0)
    net = UnrolledPU(2, 3, outlier_hidden=8)
    g = torch.randn(3, 2, 32, 48)
    out = net(g, torch.rand(3))
    assert len(out) == 2 and all(o.shape == (3, 1, 32, 48) for o in out)
    with torch.no_grad():
        steps, weights, thresholds = net.parameters_of_sigma(torch.rand(5))
    assert steps.shape == (5, 2) and float(steps.max()) < 0.2 and float(thresholds.max()) < 0.1
    assert float(weights.min()) > 0 and float(weights.max()) < 1
    plain = matching_plain_unet(net)
    assert count_parameters(plain) >= count_parameters(net) > count_parameters(PlainUNet(plain.net.start.out_channels - 4))
    assert plain(g, torch.rand(3))[0].shape == (3, 1, 32, 48)


def test_training_lowers_the_loss_on_a_fixed_batch():
    """A few steps of every mode on a tiny set run, and SR training lowers the held-out SR loss on a 20 dB set."""
    ds = make_phase_set(8, 32, ["mog"], [20], seed=0)
    torch.manual_seed(0)
    net = UnrolledPU(1, 2, outlier_hidden=4)
    y, s, x = sample_batch(ds, 8, np.random.default_rng(0))
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        before = float(training_step_loss(net, "supervised", y, s, x, gen))
    losses = train(net, ds, "supervised", 60, 8, seed=0, lr=3e-3, final_lr_factor=1.0, progress=False)
    with torch.no_grad():
        after = float(training_step_loss(net, "supervised", y, s, x, gen))
    assert len(losses) == 60 and after < 0.7 * before
    teacher = UnrolledPU(1, 2, outlier_hidden=4)
    assert len(train(net, ds, "sd", 2, 2, seed=0, teacher=teacher, progress=False)) == 2
    assert len(train(net, ds, "naive", 2, 2, seed=0, progress=False)) == 2


def tiny_config(**changes) -> PhaseUnwrapConfig:
    cfg = PhaseUnwrapConfig(size=32, train_count=12, test_per_cell=1, stages=1, inner_steps=2, outlier_hidden=4,
                            sr_iterations=3, sd_iterations=2, batch=2, lr=1e-3, final_lr_factor=0.5,
                            ablations=("naive", "supervised", "plain"), snrs_db=(0.0, 20.0), unet_base=4, threads=1)
    return PhaseUnwrapConfig(**{**cfg.__dict__, **changes})


@pytest.fixture(scope="module")
def tiny_result():
    return run_experiment(tiny_config(), seed=0, progress=False)


def test_run_experiment_tiny_end_to_end(tiny_result):
    res = tiny_result
    assert set(res.estimates) == {"itoh", "ls_dct", "skimage", "untrained", "sr", "ours", "naive", "supervised", "plain"}
    assert all(e.shape == (6, 32, 32) for e in res.estimates.values())
    assert set(res.sr_validation) == set(res.sr_validation_images) == {0.0, 20.0}
    assert len(res.losses["naive"]) == len(res.losses["sr"]) == 3  # the central claim's arms: same schedule
    assert len(res.losses["supervised"]) == 3 + 2  # compared with SR + SD, trained as long
    assert np.isfinite(res.mean_score("ours", [0.0])) and res.losses["sd"] and res.losses["plain sd"]


def test_run_experiment_restores_the_thread_count():
    before = torch.get_num_threads()
    run_experiment(tiny_config(sr_iterations=1, sd_iterations=0, ablations=(), threads=1), seed=0, progress=False)
    assert torch.get_num_threads() == before


def test_specs_have_a_rule_for_every_scale_and_an_explained_pin():
    assert len({s.id for s in SPECS}) == len(SPECS)
    assert sum(s.central for s in SPECS) == 1
    for spec in SPECS:
        assert set(spec.rules) == set(SCALES) == set(CONFIGS), spec.id
        pins = {spec.rule(scale).expected for scale in SCALES}
        assert spec.explanation or pins <= {"reproduced", "not checkable"}, spec.id
        if spec.compared:  # a compared claim's threshold does not move between scales: only its pin does
            assert len({spec.rule(scale).threshold for scale in SCALES}) == 1, spec.id


def test_claim_measurements_return_exactly_the_specs_ids(tiny_result):
    measured = claim_measurements(tiny_result)
    assert list(measured) == [s.id for s in SPECS]
    for spec in SPECS:
        m = measured[spec.id]
        if spec.id == "paper-numbers":
            assert isinstance(m, NotMeasured) and decide(spec, m, "smoke").verdict == NOT_CHECKABLE
            continue
        assert isinstance(m, Measurement) and m.unit == "test image" and m.kind == "ratio", spec.id
        assert len(m.arms) == 2 and all(len(v) == m.n for v in m.arms.values())
    # the noisy-regime claims use the 0 dB images only (3 of the 6), the all-SNR ones every image
    assert measured["beats-classical-noisy"].n == measured["recorruption-beats-naive"].n == 3
    assert measured["sd-does-not-hurt"].n == measured["unrolling-beats-plain"].n == 6
    assert measured["competes-with-supervised"].n == 3  # the images of the one declared SNR, 0 dB
    assert measured["sr-loss-falls"].n == 3  # the 20 dB test measurements
    central = measured["recorruption-beats-naive"]  # SR alone against naive, nothing else differs
    noisy = tiny_result.test.snr_db <= 5.0
    assert central.arms["ours, SR only"] == tuple(tiny_result.scores()["sr"][noisy])
    checks = sanity_values(tiny_result)
    assert set(checks) == {"trained_over_untrained", "sr_loss_fall", "sr_loss_snr_db", "classical_20db"}
    assert checks["sr_loss_snr_db"] == 20.0 and np.isfinite(checks["classical_20db"])


def test_smoke_configuration_does_not_measure_what_it_does_not_train():
    res = run_experiment(tiny_config(sr_iterations=1, sd_iterations=1, ablations=("naive",)), seed=0, progress=False)
    measured = claim_measurements(res)
    assert list(measured) == [s.id for s in SPECS]
    assert isinstance(measured["competes-with-supervised"], NotMeasured)
    assert "gpu does" in measured["competes-with-supervised"].reason  # the laptop runs leave the twin out (budget)
    assert isinstance(measured["unrolling-beats-plain"], NotMeasured)
    assert "laptop and gpu do" in measured["unrolling-beats-plain"].reason
    assert isinstance(measured["recorruption-beats-naive"], Measurement)


def test_identity_self_distillation_gives_a_paired_difference_of_exactly_zero():
    """With 0 SD steps the SD stage is the identity: SR + SD is the SR network, so every paired ratio is exactly 1
    (difference exactly 0), and the naive ablation, trained from the same initial weights on the same batches, differs."""
    res = run_experiment(tiny_config(sd_iterations=0, ablations=("naive",)), seed=0, progress=False)
    m = claim_measurements(res)["sd-does-not-hurt"]
    ours, sr = (np.array(v) for v in m.arms.values())
    assert np.array_equal(ours, sr) and np.all(np.array(m.values) == 1.0)
    spec = next(s for s in SPECS if s.id == "sd-does-not-hurt")
    assert decide(spec, m, "smoke").verdict == UNDECIDED  # identical arms are degenerate: never "reproduced"
    assert np.array_equal(res.estimates["ours"], res.estimates["sr"])
    assert "sd" not in res.losses


def test_common_random_numbers_across_arms_and_disjoint_runs(monkeypatch):
    """A run is reproducible, runs with different seeds share no test image, and the arms see the same batches: the
    recorruption draws of mode sr come from their own stream and do not shift the batch order of mode naive."""
    cfg = tiny_config(sr_iterations=2, sd_iterations=0, ablations=("naive",))
    a, b = run_experiment(cfg, seed=0, progress=False), run_experiment(cfg, seed=0, progress=False)
    assert all(np.array_equal(a.estimates[k], b.estimates[k]) for k in a.estimates)
    c = run_experiment(cfg, seed=1, progress=False)
    assert not any(np.array_equal(x, y) for x in a.test.phase for y in c.test.phase)

    import cvkit.papers.phase_unwrap as pu
    seen: dict[str, list[torch.Tensor]] = {}
    original = pu.sample_batch

    def recording(dataset, batch, rng):
        y, sigma, x = original(dataset, batch, rng)
        seen[mode].append(y)
        return y, sigma, x

    monkeypatch.setattr(pu, "sample_batch", recording)
    ds = make_phase_set(8, 32, ["mog"], [10], seed=0)
    for mode in ("sr", "naive", "supervised"):
        seen[mode] = []
        train(UnrolledPU(1, 2, base=4, outlier_hidden=4), ds, mode, 4, 2, seed=3, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(seen["sr"], seen["naive"]))
    assert all(torch.equal(p, q) for p, q in zip(seen["sr"], seen["supervised"]))
    assert len(seen["sr"]) == 4


def test_no_truth_scores_ignore_the_unwrapping_constant():
    truth = smooth_phase(48)
    y = wrap(truth + 0.2 * np.random.default_rng(1).standard_normal(truth.shape))
    base = no_truth_scores(y, truth)
    for shift in (-truth.mean(), 1.0, 7.5, -100.0):  # a perfect unwrap minus its mean used to score 2.25 rad
        shifted = no_truth_scores(y, truth + shift)
        for key in base:
            assert shifted[key] == pytest.approx(base[key], abs=1e-9), key
    assert no_truth_scores(wrap(truth), truth - truth.mean())["rewrap_rms"] < 1e-9
    assert base["rewrap_rms"] == pytest.approx(0.2, rel=0.2)  # what is left is the noise
    with pytest.raises(ValueError, match="differ in shape"):
        no_truth_scores(y, truth[:32])


def test_real_data_helpers():
    y = wrap(smooth_phase(64) + 0.3 * np.random.default_rng(0).standard_normal((64, 64)))
    assert estimate_sigma(y) == pytest.approx(0.3, rel=0.25)
    assert center_crop(np.zeros((159, 150))).shape == (144, 144)
    with pytest.raises(ValueError, match="smaller"):
        center_crop(np.zeros((10, 40)))


def test_claims_over_runs_take_one_replicate_per_training_run():
    """Several runs: a replicate is a training run, its ratio the run's geometric mean of its per-image ratios; the
    training seeds of two SEEDs are disjoint, and one run falls back to the per-image claims."""
    cfg = tiny_config(sr_iterations=2, sd_iterations=1, ablations=("naive",), train_runs=3)
    runs = run_replicates(cfg, 2, progress=False)
    assert [r.seed for r in runs] == [2000, 2001, 2002]
    measured = measure_claims(runs)
    assert list(measured) == [s.id for s in SPECS]
    for claim in ("beats-classical-noisy", "recorruption-beats-naive", "sd-does-not-hurt"):
        m = measured[claim]
        assert isinstance(m, Measurement) and m.unit == RUN_UNIT and m.n == 3 and m.kind == "ratio", claim
    m = measured["recorruption-beats-naive"]
    for run, value in zip(runs, m.values):
        scores, noisy = run.scores(), run.test.snr_db <= 5.0
        assert value == pytest.approx(np.exp(np.mean(np.log(scores["sr"][noisy] / scores["naive"][noisy]))))
    assert isinstance(measured["unrolling-beats-plain"], NotMeasured)
    assert measure_claims(runs[:1])["sd-does-not-hurt"].unit == "test image"
    with pytest.raises(ValueError, match="at least 2"):
        claim_measurements_over_runs(runs[:1])
    checks = sanity_values_over_runs(runs)
    assert checks["sr_loss_fall"] == pytest.approx(np.mean([sanity_values(r)["sr_loss_fall"] for r in runs]))


def test_identity_control_sees_zero_only_where_nothing_changed():
    identity = identity_control(tiny_config(), seed=4)
    assert identity["rerun"] == 0.0 and identity["sd_noop"] == 0.0 and identity["naive_vs_sr"] > 0.0
    assert identity["sr_sigma0_vs_naive"] <= 1e-3 < identity["naive_vs_sr"]  # the central claim's exact control


def test_recorruption_at_sigma_zero_is_the_naive_loss():
    """With z = 0 the SR loss is the naive one, W(∇Y − ∇X) = W(W(∇Y) − ∇X): value and gradient agree to float32
    rounding, so the central claim's two arms differ in the recorruption noise and nothing else."""
    ds = make_phase_set(4, 32, PHASE_TYPES, [0.0, 5.0], seed=0)
    y, s, x = sample_batch(ds, 4, np.random.default_rng(0))
    net = UnrolledPU(1, 2, base=4, outlier_hidden=4)
    losses, grads = {}, {}
    for mode, scale in (("sr", 0.0), ("naive", 1.0)):
        net.zero_grad()
        loss = training_step_loss(net, mode, y, s, x, torch.Generator().manual_seed(0), noise_scale=scale)
        loss.backward()
        losses[mode] = float(loss.detach())
        grads[mode] = torch.cat([p.grad.flatten() for p in net.parameters() if p.grad is not None])
    assert losses["sr"] == pytest.approx(losses["naive"], rel=1e-5)
    assert torch.allclose(grads["sr"], grads["naive"], rtol=1e-3, atol=1e-6)
    full = training_step_loss(net, "sr", y, s, x, torch.Generator().manual_seed(0))
    assert abs(float(full.detach()) - losses["naive"]) > 1e-3  # with the real noise level the losses differ


def test_more_bad_inputs_give_clear_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="finite"):
        observe(smooth_phase(), math.inf, rng)
    with pytest.raises(ValueError, match="differ in shape"):
        aligned_rmse(np.zeros((4, 4)), np.zeros((1, 4)))
    with pytest.raises(ValueError, match="differ in shape"):
        wrap_error_rate(np.zeros((4, 4)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="one noise level per measurement"):
        recorrupt(torch.zeros(1, 1, 16, 16), torch.ones(3), torch.Generator())
    with pytest.raises(ValueError, match="finite"):
        recorrupt(torch.zeros(1, 1, 16, 16), torch.tensor([math.nan]), torch.Generator())
    with pytest.raises(ValueError, match="one noise level per sample"):
        UnrolledPU(1, 1, base=4, outlier_hidden=4)(torch.zeros(1, 2, 16, 16), torch.ones(3))
    with pytest.raises(ValueError, match=r"sigma \(B,\)"):
        PlainUNet(4)(torch.zeros(1, 2, 16, 16), torch.ones(3))
    with pytest.raises(ValueError, match="empty"):
        self_reconstruction_loss([], torch.zeros(1, 1, 2, 4, 4))
    with pytest.raises(ValueError, match="at least 4 columns"):
        estimate_sigma(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="estimate is constant"):
        nrmse(smooth_phase(), np.zeros((48, 48)), swapped=True)
    with pytest.raises(ValueError, match="at least one"):
        make_phase_set(3, 16, [], [0.0], seed=0)
    with pytest.raises(ValueError, match="noise_scale"):
        train(UnrolledPU(1, 1, base=4, outlier_hidden=4), make_phase_set(2, 16, ["mog"], [10], 0), "sr", 1, 1, 0,
              progress=False, noise_scale=-1.0)
    pi32 = torch.tensor([math.pi], dtype=torch.float32)  # π rounded up to float32
    assert torch.equal(wrap(pi32), -pi32)  # −π in the input's precision (3e-8 below float64 −π), as documented


def test_run_experiment_leaves_the_global_generator_alone():
    state = torch.random.get_rng_state()
    run_experiment(tiny_config(sr_iterations=1, sd_iterations=0, ablations=()), seed=0, progress=False)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_laptop_decides_compared_claims_on_enough_training_runs():
    laptop = CONFIGS["laptop"]
    assert laptop.train_runs >= max(6, MIN_COMPARED_N) and laptop.threads == 1
    assert CONFIGS["smoke"].train_runs == 1 and CONFIGS["smoke"].regime_sr_iterations == 0
    assert laptop.regime_sr_iterations > laptop.sr_iterations and laptop.regime_stages == (3, 10)


def test_low_frequency_share_and_a_tiny_regime_run():
    flat = np.zeros((32, 32))
    assert low_frequency_share(flat, flat + 5.0) == 0.0
    assert low_frequency_share(flat, np.add.outer(np.arange(32.0), np.arange(32.0))) > 0.9
    assert low_frequency_share(flat, np.random.default_rng(0).standard_normal((32, 32))) < 0.1
    assert regime_experiment(tiny_config(), 0, progress=False) is None
    cfg = tiny_config(regime_sr_iterations=2, regime_sd_iterations=1, regime_stages=(1, 2), regime_test_sizes=(32, 48))
    reg = regime_experiment(cfg, 0, reference=UnrolledPU(1, 2, base=4, outlier_hidden=4), progress=False)
    assert {(r["side"], r["method"]) for r in reg.rows} == {(s, m) for s in (32, 48)
                                                             for m in ("ls_dct", "skimage", "regime", "claims run")}
    assert len(reg.rows) == 2 * 4 * len(cfg.snrs_db) and set(reg.losses) == {"sr", "sd"} and len(reg.losses["sd"]) == 1
