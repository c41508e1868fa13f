"""cvkit.papers.hybrid_fmaps, the ULRSSM-style unsupervised losses of the gpu configuration: the soft pointmap, the
loss at a perfect self-map (zero) and away from it, the annealed elastic weight, gradients, and the gpu learned
configuration end to end on the CPU at a tiny size (the gpu dry run; no GPU is needed or used)."""
import dataclasses
import os
import time

import numpy as np
import pandas as pd
import pytest
import torch

from cvkit.core.claims import Measurement
from cvkit.papers.hybrid_fmaps import (CONFIGS, GPU_BUDGET_MIN, LEARNED_CONFIGS, SECONDS_PER_STEP_GPU,
                                       ExperimentResult, HybridConfig,
                                       LearnedConfig, LearnedShape, anneal, gpu_break_even_step, gpu_minutes,
                                       learned_data, parallel_map,
                                       run_experiment,
                                       claim_measurements, learned_errors, learned_pair, learned_shape, make_pair,
                                       run_learned, soft_pointmap, spectral_shape, split_sizes, train_ulrssm,
                                       unsupervised_loss)


@pytest.fixture(scope="module")
def self_shape():
    pair = make_pair("creases", 21, subdivisions=2)
    s = spectral_shape(*pair.source, k_lb=50, k_el=6)
    return learned_shape(s, 14, 6), pair, s


def test_soft_pointmap_rows_are_distributions():
    g = torch.Generator().manual_seed(0)
    fx, fy = torch.randn(7, 5, generator=g, dtype=torch.float64), torch.randn(4, 5, generator=g, dtype=torch.float64)
    P = soft_pointmap(fx, fy, 0.07)
    assert P.shape == (4, 7) and torch.allclose(P.sum(1), torch.ones(4, dtype=torch.float64)) and (P >= 0).all()
    assert torch.equal(soft_pointmap(fx, fx, 1e-4).argmax(1), torch.arange(7))  # each vertex is its own best match
    with pytest.raises(ValueError, match="tau"):
        soft_pointmap(fx, fy, 0.0)


def test_loss_is_zero_at_a_perfect_self_map_and_positive_away_from_it(self_shape):
    x, _, _ = self_shape
    g = torch.Generator().manual_seed(1)
    f = torch.randn(x.inputs.shape[0], 64, generator=g, dtype=torch.float64)  # distinct directions: Π ≈ I at small τ
    # X against itself with identical features: C = I in both blocks, so bijectivity, orthogonality and alignment vanish
    assert float(unsupervised_loss(f, f, x, x, tau=0.01)) < 1e-8
    shuffled = f[torch.randperm(len(f), generator=g)]
    assert float(unsupervised_loss(f, shuffled, x, x, tau=0.01)) > 1.0


def test_el_weight_zero_drops_exactly_the_elastic_terms(self_shape):
    x, _, _ = self_shape
    g = torch.Generator().manual_seed(2)
    fx = torch.randn(x.inputs.shape[0], 16, generator=g, dtype=torch.float64)
    fy = torch.randn(x.inputs.shape[0], 16, generator=g, dtype=torch.float64)
    empty = dataclasses.replace(x, el_evals=x.el_evals[:0], el_pinv=x.el_pinv[:0], gram_half=x.gram_half[:0, :0],
                                gram_inv_half=x.gram_inv_half[:0, :0], el_basis=x.el_basis[:, :0])
    lb_only = unsupervised_loss(fx, fy, empty, empty)
    assert torch.equal(unsupervised_loss(fx, fy, x, x, el_weight=0.0), lb_only)
    assert float(unsupervised_loss(fx, fy, x, x, el_weight=1.0)) > float(lb_only)
    with pytest.raises(ValueError, match="el_weight"):
        unsupervised_loss(fx, fy, x, x, el_weight=1.5)


def test_anneal():
    assert [anneal(s, 4) for s in (0, 1, 4, 9)] == [0.0, 0.25, 1.0, 1.0]
    assert anneal(0, 0) == 1.0
    with pytest.raises(ValueError, match="≥ 0"):
        anneal(-1, 4)


def test_train_ulrssm_lowers_its_loss_and_reaches_every_weight(self_shape):
    _, pair, s = self_shape
    y = spectral_shape(*pair.target, k_lb=50, k_el=6)
    lp = [learned_pair(pair, s, y, 14, 6)]
    model, history = train_ulrssm(lp, 3, epochs=30, anneal_steps=10, width=8, d_out=16)
    assert len(history) == 30 and np.all(np.isfinite(history))
    assert history[-1] < history[10]  # after the anneal has finished, training lowers the loss
    fx = model(lp[0].x.inputs, lp[0].x.evals, lp[0].x.phi, lp[0].x.phi_pinv)
    fy = model(lp[0].y.inputs, lp[0].y.evals, lp[0].y.phi, lp[0].y.phi_pinv)
    unsupervised_loss(fx, fy, lp[0].x, lp[0].y).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    with pytest.raises(ValueError, match="epochs"):
        train_ulrssm(lp, 3, epochs=-1)


def test_gpu_learned_configuration_dry_run_on_cpu():
    gpu = LEARNED_CONFIGS["gpu"]
    assert gpu.unsupervised and gpu.anneal_steps == 2000  # the issue: ULRSSM-style losses, annealed elastic weight
    assert 2 * gpu.train_pairs == 300 and 10 * 4**gpu.subdivisions + 2 == 2562  # 300 training shapes of 2,562 vertices
    assert gpu.test_pairs == 60  # the issue: 60 test pairs (per replicate and family)
    assert gpu.shared_data and gpu.basis_workers > 1  # one cached data set for every replicate, bases in parallel
    cfg = dataclasses.replace(gpu, subdivisions=2, k=12, replicates=2, train_pairs=2, test_pairs=1, epochs=2,
                              anneal_steps=3, basis_workers=2)  # the gpu code path, shrunk to seconds
    res = run_learned(cfg, 0, device="cpu", progress=False)
    assert res.identity_gap == 0.0  # the hybrid code at 0 % elastic reproduces LBO-only exactly, unsupervised too
    assert np.isfinite(res.untrained_ratio) and len(res.table) == 2 * 2 * 2 and np.isfinite(res.table.error).all()
    assert all(np.all(np.isfinite(h)) for h in res.histories.values())
    rows = [dict(part="family", family=f, pair=p, K=CONFIGS["smoke"].main_k, arm=a, error=1.0 + p)
            for p in range(3) for f in ("near-isometric", "creases", "holes") for a in ("lbo", "hybrid", "elastic")]
    # the learned claims' measurements read only the learned table (a smoke-shaped axiomatic table stands in)
    m = claim_measurements(ExperimentResult(pd.DataFrame(rows)), CONFIGS["smoke"], "smoke", learned=res)
    assert isinstance(m["learned-pipeline-gain"], Measurement) and isinstance(m["holes-learned"], Measurement)
    with pytest.raises(ValueError, match="anneal_steps"):
        run_learned(dataclasses.replace(cfg, unsupervised=False), 0)


def test_parallel_workers_give_exactly_the_serial_results():
    cfg = HybridConfig(subdivisions=2, vertices=0, pairs=2, k_init=8, sizes=(8, 10), main_k=10, sweep_shapes=1,
                       sweep_angles=(10.0, 60.0), remeshed=1, deltas=(1e-3, 1e-2), delta_pairs=1, real_k=0,
                       first_pair=5)
    serial = run_experiment(cfg, 0, progress=False)
    parallel = run_experiment(dataclasses.replace(cfg, basis_workers=2), 0, progress=False)
    pd.testing.assert_frame_equal(serial.table, parallel.table, check_exact=True)
    assert serial.identity_gap == parallel.identity_gap == 0
    assert serial.example_maps.keys() == parallel.example_maps.keys()
    assert all(np.array_equal(serial.example_maps[k], parallel.example_maps[k]) for k in serial.example_maps)
    lcfg = LearnedConfig(subdivisions=2, k=8, replicates=1, train_pairs=2, test_pairs=1, epochs=0, first_replicate=9)
    one, two = learned_data(lcfg, 7, 3), learned_data(dataclasses.replace(lcfg, basis_workers=2), 7, 3)
    for family in lcfg.families:
        (_, s1, t1), (_, s2, t2) = one[family], two[family]
        for a, b in zip([s for s, _ in s1] + t1, [s for s, _ in s2] + t2):
            assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("evals", "phi", "evals_el", "psi"))
        assert [d is None for _, d in s1] == [d is None for _, d in s2] == [True, True, False]  # test source: geodesics
        assert np.array_equal(s1[2][1], s2[2][1])
    with pytest.raises(ValueError, match="workers"):
        parallel_map(abs, [1], 0)
    with pytest.raises(ValueError, match="workers"):
        parallel_map(abs, [1], True)  # a bool is not a worker count
    pids = parallel_map(_pid, [0, 1, 2, 3], 2)
    assert os.getpid() not in pids  # the workers ran in other processes


def _pid(_) -> int:
    return os.getpid()


def _fail(x: int) -> int:
    if x == 0:
        raise ZeroDivisionError("worker failed")
    time.sleep(0.5)
    return x


def test_parallel_map_fails_fast_and_refuses_to_fork_after_cuda(monkeypatch):
    t0 = time.perf_counter()
    with pytest.raises(ZeroDivisionError, match="worker failed"):
        parallel_map(_fail, list(range(80)), 2)  # the queued tasks (about 20 s in all) are cancelled
    assert time.perf_counter() - t0 < 10
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    with pytest.raises(RuntimeError, match="CUDA"):
        parallel_map(abs, [1], 2)
    assert parallel_map(abs, [-1], 1) == [1]  # one worker forks nothing


def test_gpu_configuration_fits_its_budget_in_the_cost_model():
    gpu, lgpu = CONFIGS["gpu"], LEARNED_CONFIGS["gpu"]
    minutes = gpu_minutes(gpu, lgpu)  # 7.9 s per basis on one thread, 10 ms per training step on the GPU (assumed)
    assert sum(minutes.values()) <= 22 < GPU_BUDGET_MIN  # bases + training; the rest of the 30 min for ZoomOut, scoring
    assert gpu.basis_workers == lgpu.basis_workers == 14  # of the assumed 16 cores of one H100/H200 machine
    assert lgpu.replicates >= 5 and lgpu.epochs * lgpu.train_pairs > lgpu.anneal_steps  # n ≥ 5; the anneal completes
    before = gpu_minutes(dataclasses.replace(gpu, basis_workers=1),  # the configuration before session 9's resize
                         dataclasses.replace(lgpu, replicates=10, epochs=40, shared_data=False, basis_workers=1))
    assert sum(before.values()) > 10 * GPU_BUDGET_MIN
    step = gpu_break_even_step(gpu, lgpu)  # the step time at which the model reaches the budget
    assert sum(gpu_minutes(gpu, lgpu, seconds_per_step=step).values()) == pytest.approx(GPU_BUDGET_MIN)
    assert SECONDS_PER_STEP_GPU < gpu_break_even_step(gpu, lgpu, 22) < step
    for scale in ("smoke", "laptop"):  # their code path: one process, fresh data per replicate, as before
        assert CONFIGS[scale].basis_workers == LEARNED_CONFIGS[scale].basis_workers == 1
        assert not LEARNED_CONFIGS[scale].shared_data
