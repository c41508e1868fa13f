"""cvkit.papers.hybrid_fmaps, the learned (GeomFmaps-style) pipeline: the differentiable map solve against the dense
closed forms, gradients, the minimal DiffusionNet, overfitting a tiny set, the identity arm and the claims' bookkeeping."""
import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from cvkit.core.claims import Measurement, NotMeasured
from cvkit.core.spectral import geodesic_distances
from cvkit.papers.hybrid_fmaps import (CONFIGS, LEARNED_CONFIGS, ExperimentResult, LearnedConfig, MiniDiffusionNet,
                                       SpectralDiffusion, claim_measurements, fmap_solve_torch, gram, learned_errors,
                                       learned_errors_by_replicate, learned_pair, learned_shape, make_pair, map_loss,
                                       predict_fmaps, psd_sqrt, run_learned, solve_fmap_hs, solve_fmap_lb,
                                       spectral_shape, split_sizes, train_geomfmaps)

F64 = torch.float64
t = lambda a: torch.as_tensor(a, dtype=F64)


def _problem(seed=0, kx=5, ky=4, d=9):
    rng = np.random.default_rng(seed)
    A, B = rng.normal(size=(kx, d)), rng.normal(size=(ky, d))
    ex, ey = np.sort(rng.uniform(0, 1, kx)), np.sort(rng.uniform(0, 1, ky))
    Gx = gram(rng.normal(size=(30, kx)), sp.eye(30) / 30)
    Gy = gram(rng.normal(size=(30, ky)), sp.eye(30) / 30)
    return A, B, ex, ey, Gx, Gy


def test_solve_matches_dense_closed_forms():
    A, B, ex, ey, Gx, Gy = _problem()
    C = fmap_solve_torch(t(A), t(B), t(ex), t(ey), 0.4).numpy()
    # dense Kronecker normal equations of ‖CA − B‖² + α‖CΛx − ΛyC‖² (column-major vec)
    kx, ky = len(ex), len(ey)
    data = np.kron(A.T, np.eye(ky))
    comm = np.kron(np.diag(ex), np.eye(ky)) - np.kron(np.eye(kx), np.diag(ey))
    c = np.linalg.solve(data.T @ data + 0.4 * comm.T @ comm, data.T @ B.ravel(order="F"))
    assert np.allclose(C, c.reshape(ky, kx, order="F"), atol=1e-10)
    assert np.allclose(C, solve_fmap_lb(A, B, ex, ey, 0.4), atol=1e-10)
    C_hs = fmap_solve_torch(t(A), t(B), t(ex), t(ey), 0.4, gram_halves=(t(psd_sqrt(Gx)[1]), t(psd_sqrt(Gy)[0])))
    assert np.allclose(C_hs.numpy(), solve_fmap_hs(A, B, ex, ey, 0.4, Gx, Gy), atol=1e-10)
    # with identity Gram matrices the HS problem is the Frobenius one
    C_id = fmap_solve_torch(t(A), t(B), t(ex), t(ey), 0.4, gram_halves=(torch.eye(kx, dtype=F64), torch.eye(ky, dtype=F64)))
    assert np.allclose(C_id.numpy(), C, atol=1e-10)
    # weight 0 and square, invertible A: the exact solution B A⁻¹
    A2 = A[:, :5]
    C0 = fmap_solve_torch(t(A2), t(B[:, :5]), t(ex), t(ey), 0.0).numpy()
    assert np.allclose(C0, B[:, :5] @ np.linalg.inv(A2), atol=1e-8)


def test_solve_gradients_flow():
    A, B, ex, ey, Gx, Gy = _problem(1, kx=3, ky=3, d=5)
    halves = (t(psd_sqrt(Gx)[1]), t(psd_sqrt(Gy)[0]))
    for gh in (None, halves):
        f = lambda a, b: fmap_solve_torch(a, b, t(ex), t(ey), 0.3, gram_halves=gh)
        assert torch.autograd.gradcheck(f, (t(A).requires_grad_(), t(B).requires_grad_()))


def test_solve_bad_input():
    A, B, ex, ey, Gx, Gy = _problem()
    with pytest.raises(ValueError, match="same d"):
        fmap_solve_torch(t(A), t(B[:, :3]), t(ex), t(ey), 0.1)
    with pytest.raises(ValueError, match="evals_x"):
        fmap_solve_torch(t(A), t(B), t(ex[:2]), t(ey), 0.1)
    with pytest.raises(ValueError, match="weight"):
        fmap_solve_torch(t(A), t(B), t(ex), t(ey), -1.0)
    with pytest.raises(ValueError, match="gram_halves"):
        fmap_solve_torch(t(A), t(B), t(ex), t(ey), 0.1, gram_halves=(torch.eye(2, dtype=F64), torch.eye(4, dtype=F64)))
    assert fmap_solve_torch(t(A[:0]), t(B[:0]), t(ex[:0]), t(ey[:0]), 0.1).shape == (0, 0)


@pytest.fixture(scope="module")
def tiny_pair():
    pair = make_pair("creases", 11, subdivisions=2)
    x = spectral_shape(*pair.source, k_lb=30, k_el=4)
    y = spectral_shape(*pair.target, k_lb=30, k_el=4)
    return pair, x, y, geodesic_distances(*pair.source)


def test_diffusion_keeps_constants_and_smooths(tiny_pair):
    _, x, _, _ = tiny_pair
    ls = learned_shape(x, 10, 0)
    layer = SpectralDiffusion(2)
    const = torch.ones(x.n, 2, dtype=F64)
    layer = layer.to(F64)
    assert torch.allclose(layer(const, ls.evals, ls.phi, ls.phi_pinv), const, atol=1e-8)  # eigenvalue 0: unchanged
    noise = torch.as_tensor(np.random.default_rng(0).normal(size=(x.n, 2)), dtype=F64)
    with torch.no_grad():
        layer.time.fill_(1.0)  # a long time: everything but the mean has decayed
    out = layer(noise, ls.evals, ls.phi, ls.phi_pinv)
    mean = (ls.phi_pinv[0] @ noise) * ls.phi[0, 0]
    assert torch.allclose(out, mean.expand_as(out), atol=1e-6)
    with pytest.raises(ValueError, match="≥ 1"):
        MiniDiffusionNet(0)


def test_learned_shape_arms(tiny_pair):
    _, x, y, _ = tiny_pair
    lbo, hyb = learned_shape(x, 12, 0), learned_shape(x, 8, 4)
    assert lbo.el_pinv.shape == (0, x.n) and hyb.el_pinv.shape == (4, x.n) and hyb.lb_pinv.shape == (8, x.n)
    assert torch.equal(lbo.inputs, hyb.inputs)  # the network sees the same inputs in both arms
    assert torch.allclose(hyb.el_pinv @ torch.as_tensor(x.psi[:, :4]), torch.eye(4, dtype=F64), atol=1e-8)
    with pytest.raises(ValueError, match="k_el"):
        learned_shape(x, 8, 5)


def test_ground_truth_map_has_zero_loss(tiny_pair):
    pair, x, y, d = tiny_pair
    lp = learned_pair(pair, x, y, 8, 4, dist_x=d)
    assert float(map_loss(lp.C_gt, lp.C_gt, lp.x, lp.y)) == 0.0
    wrong = (lp.C_gt[0] + 0.1, lp.C_gt[1])
    assert float(map_loss(wrong, lp.C_gt, lp.x, lp.y)) == pytest.approx(0.01 * 64)


def test_overfits_a_tiny_set_and_gradients_reach_every_weight(tiny_pair):
    pair, x, y, d = tiny_pair
    for k_lb, k_el in ((12, 0), (8, 4)):
        lp = [learned_pair(pair, x, y, k_lb, k_el, dist_x=d)]
        model, _ = train_geomfmaps(lp, 3, epochs=0)
        loss = map_loss(predict_fmaps(model, lp[0].x, lp[0].y), lp[0].C_gt, lp[0].x, lp[0].y)
        loss.backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
                   for p in model.parameters())
        before = float(map_loss(predict_fmaps(model, lp[0].x, lp[0].y, weight=0.0), lp[0].C_gt, lp[0].x, lp[0].y))
        # without the commutativity penalty (weight 0) the ground-truth map is reachable: the loss must fall far
        model, history = train_geomfmaps(lp, 3, epochs=200, weight=0.0)
        after = float(map_loss(predict_fmaps(model, lp[0].x, lp[0].y, weight=0.0), lp[0].C_gt, lp[0].x, lp[0].y))
        assert history[-1] < 0.5 * history[0] and after < 0.5 * before
        assert np.isfinite(learned_errors(model, lp, weight=0.0)).all()


def test_training_is_deterministic_and_rejects_bad_input(tiny_pair):
    pair, x, y, d = tiny_pair
    lp = [learned_pair(pair, x, y, 8, 4, dist_x=d)]
    _, h1 = train_geomfmaps(lp, 5, epochs=3, width=8, d_out=16)
    _, h2 = train_geomfmaps(lp, 5, epochs=3, width=8, d_out=16)
    assert h1 == h2
    with pytest.raises(ValueError, match="epochs"):
        train_geomfmaps(lp, 5, epochs=-1)
    with pytest.raises(ValueError, match="training pair"):
        train_geomfmaps([], 5, epochs=1)
    model, _ = train_geomfmaps(lp, 5, epochs=0, width=8, d_out=16)
    with pytest.raises(ValueError, match="geodesics"):
        learned_errors(model, [learned_pair(pair, x, y, 8, 4)])


def test_run_learned_tiny_identity_and_claims():
    cfg = LearnedConfig(subdivisions=2, k=12, replicates=2, train_pairs=2, test_pairs=1, epochs=2, first_replicate=900)
    res = run_learned(cfg, 0, progress=False)
    assert res.identity_gap == 0.0  # the hybrid code at 0 % elastic reproduces LBO-only exactly
    assert np.isfinite(res.untrained_ratio)
    T = res.table
    assert set(T.family) == {"creases", "holes"} and set(T.arm) == {"lbo", "hybrid"} and len(T) == 2 * 2 * 2
    assert T.replicate.nunique() == 2
    again = run_learned(cfg, 0, progress=False).table
    assert T.equals(again)
    by_rep = learned_errors_by_replicate(res, "creases")
    assert by_rep.shape == (2, 2)
    smoke_cfg = CONFIGS["smoke"]
    fake = ExperimentResult(_axiomatic_table(smoke_cfg))
    m = claim_measurements(fake, smoke_cfg, "smoke", learned=res)
    gain = m["learned-pipeline-gain"]
    assert isinstance(gain, Measurement) and np.allclose(gain.values, by_rep.hybrid - 0.95 * by_rep.lbo)
    assert isinstance(m["holes-learned"], Measurement)
    assert isinstance(claim_measurements(fake, smoke_cfg, "smoke")["holes-learned"], NotMeasured)
    with pytest.raises(ValueError, match="replicates"):
        run_learned(dataclasses.replace(cfg, replicates=0), 0)


def _axiomatic_table(cfg):
    import pandas as pd
    rows = [dict(part="family", family=f, pair=p, K=cfg.main_k, arm=a, error=1.0 + p)
            for p in range(3) for f in ("near-isometric", "creases", "holes") for a in ("lbo", "hybrid", "elastic")]
    return pd.DataFrame(rows)


def test_learned_configs_follow_the_issue():
    lap = LEARNED_CONFIGS["laptop"]
    assert 10 * 4**lap.subdivisions + 2 == 642 and 2 * lap.train_pairs == 40  # 40 training shapes of 642 vertices
    assert lap.replicates >= 5 and split_sizes(lap.k, 0.3) == (21, 9)
    assert all(c.first_replicate >= 600 for c in LEARNED_CONFIGS.values())  # disjoint from the axiomatic ids


def test_read_vertex_map_and_landmarks(tmp_path):
    from cvkit.papers.hybrid_fmaps import read_landmark_pairs, read_vertex_map

    f = tmp_path / "map.txt"
    f.write_text("0\n3\n2\n")
    assert read_vertex_map(f, 3, 4).tolist() == [0, 3, 2]
    with pytest.raises(ValueError, match="has 3 lines but the shape it follows has 4 vertices"):
        read_vertex_map(f, 4, 4)  # wrong length
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        read_vertex_map(f, 3, 3)  # out of range
    f.write_text("0\n1.5\n2\n")
    with pytest.raises(ValueError, match="integer"):
        read_vertex_map(f, 3, 4)
    g = tmp_path / "landmarks.txt"
    g.write_text("1 2\n3 0\n")
    assert read_landmark_pairs(g, 4, 3).tolist() == [[1, 2], [3, 0]]
    with pytest.raises(ValueError, match="column 1"):
        read_landmark_pairs(g, 3, 3)
    g.write_text("1 2 3\n")
    with pytest.raises(ValueError, match="two columns"):
        read_landmark_pairs(g, 4, 4)


def test_official_hybrid_zoomout_schedule_ends_one_to_one():
    from cvkit.papers.hybrid_fmaps import zoomout_schedule_blocks

    s = zoomout_schedule_blocks((20, 10), (100, 100))
    assert s[0] == (20, 10) and s[-1] == (100, 100) and len(s) == 171
    assert all(b[0] >= a[0] and b[1] >= a[1] and sum(b) - sum(a) == 1 for a, b in zip(s, s[1:]))
    assert zoomout_schedule_blocks((14, 6), (35, 15))[-1] == (35, 15)
    assert zoomout_schedule_blocks((5, 5), (5, 5)) == [(5, 5)]
    assert zoomout_schedule_blocks((20, 10), (100, 100), step=50)[-1] == (100, 100)
    with pytest.raises(ValueError, match="end ≥ start"):
        zoomout_schedule_blocks((20, 10), (10, 100))
    with pytest.raises(ValueError, match="step"):
        zoomout_schedule_blocks((20, 10), (100, 100), step=0)


def test_official_schedule_runs_on_a_pair(tiny_pair):
    from cvkit.papers.hybrid_fmaps import descriptor_fmaps, descriptors, pointmap_from_fmaps, zoomout, \
        zoomout_schedule_blocks

    pair, x, y, d = tiny_pair
    p0 = pointmap_from_fmaps(*descriptor_fmaps(x, y, descriptors(x, pair.landmarks[0]), descriptors(y, pair.landmarks[1]),
                                                4, 2), x, y)
    p = zoomout(p0, x, y, zoomout_schedule_blocks((4, 2), (4, 4)))  # ends 1:1 (4 + 4) within the bases held
    assert p.shape == (y.n,) and p.min() >= 0 and p.max() < x.n


def test_init_learner_same_seed_same_weights_and_epochs_checked():
    from cvkit.papers.hybrid_fmaps import init_learner, learned_pair, make_pair, spectral_shape, train_geomfmaps

    pair = make_pair("creases", 31, subdivisions=2)
    x = spectral_shape(*pair.source, k_lb=20, k_el=4)
    y = spectral_shape(*pair.target, k_lb=20, k_el=4)
    lp = [learned_pair(pair, x, y, 6, 4)]
    a, b = init_learner(lp, 3, width=8, d_out=8), init_learner(lp, 3, width=8, d_out=8)
    assert all(torch.equal(u, v) for u, v in zip(a.state_dict().values(), b.state_dict().values()))
    c = init_learner(lp, 4, width=8, d_out=8)
    assert not all(torch.equal(u, v) for u, v in zip(a.state_dict().values(), c.state_dict().values()))
    with pytest.raises(ValueError, match="training pair"):
        init_learner([], 3)
    for bad in (True, -1, 2.0):
        with pytest.raises(ValueError, match="epochs"):
            train_geomfmaps(lp, 3, epochs=bad)


def test_learned_claims_name_the_pipeline_of_the_scale():
    from cvkit.papers.hybrid_fmaps import LEARNED_RUNS, SPECS

    assert "gpu: ULRSSM-style unsupervised, K = 50, hybrid 35 + 15" in LEARNED_RUNS
    assert "laptop: supervised GeomFmaps, K = 30, hybrid 21 + 9" in LEARNED_RUNS
    for spec in SPECS:
        if spec.id in ("holes-learned", "learned-pipeline-gain"):
            assert LEARNED_RUNS in spec.metric
