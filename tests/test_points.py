"""cvkit.core.points: FPS against a naive loop, kNN against SciPy's cKDTree, gathering, spacing, PointNet, precise BN."""
import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree

from cvkit.core.points import (PointNetEncoder, check_points, farthest_point_sampling, gather_points, knn, mean_spacing,
                               point_mlp, recalibrate_batchnorm)


def naive_fps(x: np.ndarray, m: int) -> list[int]:
    chosen = [0]
    for _ in range(m - 1):
        d = np.min(((x[:, None] - x[chosen][None]) ** 2).sum(-1), axis=1)
        chosen.append(int(np.argmax(d)))
    return chosen


def test_fps_matches_naive_reference():
    x = torch.randn(3, 200, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    idx = farthest_point_sampling(x, 17)
    for b in range(3):
        assert idx[b].tolist() == naive_fps(x[b].numpy(), 17)
    assert len(set(idx[0].tolist())) == 17  # no point twice


def test_fps_hand_case_and_start():
    line = torch.arange(11.0)[None, :, None] * torch.tensor([1.0, 0.0, 0.0])
    assert farthest_point_sampling(line, 3).tolist() == [[0, 10, 5]]
    assert farthest_point_sampling(line, 2, start=torch.tensor([10])).tolist() == [[10, 0]]


def test_knn_matches_ckdtree():
    gen = torch.Generator().manual_seed(1)
    pts = torch.rand(2, 300, 3, generator=gen, dtype=torch.float64)
    q = torch.rand(2, 40, 3, generator=gen, dtype=torch.float64)
    d, i = knn(q, pts, 7, chunk=9)
    for b in range(2):
        dd, ii = cKDTree(pts[b].numpy()).query(q[b].numpy(), k=7)
        assert np.allclose(d[b].numpy(), dd) and np.array_equal(i[b].numpy(), ii)
    assert torch.all(d[..., 1:] >= d[..., :-1])  # ascending


def test_knn_chunking_does_not_change_the_answer():
    x = torch.randn(1, 100, 3, generator=torch.Generator().manual_seed(2))
    assert torch.equal(knn(x, x, 5, chunk=1)[1], knn(x, x, 5, chunk=1000)[1])


def test_gather_and_spacing():
    x = torch.arange(12.0).reshape(1, 4, 3)
    assert torch.equal(gather_points(x, torch.tensor([[[3, 0]]]))[0, 0], x[0, [3, 0]])
    grid = torch.stack(torch.meshgrid(torch.arange(4.0), torch.arange(4.0), indexing="ij"), -1).reshape(1, 16, 2)
    grid = torch.cat([0.5 * grid, torch.zeros(1, 16, 1)], -1)
    assert torch.allclose(mean_spacing(grid), torch.tensor([0.5]))


def test_bad_inputs():
    x = torch.randn(1, 5, 3)
    with pytest.raises(ValueError, match="need N ≥ k"):
        knn(x, x, 6)
    bad = x.clone()
    bad[0, 2, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        knn(bad, x, 2)
    with pytest.raises(ValueError, match="shape"):
        farthest_point_sampling(torch.randn(5, 3), 2)
    with pytest.raises(ValueError, match="m must be"):
        farthest_point_sampling(x, 6)
    with pytest.raises(ValueError, match="same batch size"):
        knn(torch.randn(2, 3, 3), x, 1)
    with pytest.raises(ValueError, match="coordinates per point"):
        check_points(torch.randn(1, 4, 2))
    with pytest.raises(ValueError, match="widths"):
        point_mlp((3,))


def test_pointnet_is_order_invariant():
    torch.manual_seed(0)
    enc = PointNetEncoder((3, 8, 16)).eval()
    x = torch.randn(2, 30, 3)
    assert enc(x).shape == (2, 16)
    assert torch.allclose(enc(x), enc(x[:, torch.randperm(30)]), atol=1e-6)


def test_recalibrate_batchnorm_gives_the_data_statistics():
    torch.manual_seed(0)
    mlp = point_mlp((3, 4))
    x = torch.randn(64, 3) * 5 + 2
    recalibrate_batchnorm(mlp, [(x[:32],), (x[32:],)])
    bn = mlp[1].bn
    pre = mlp[0](x).detach()
    assert torch.allclose(bn.running_mean, pre.mean(0), atol=1e-5)
    assert not mlp.training
    assert bn.momentum == 0.1  # the default, restored


def test_recalibrate_batchnorm_restores_each_momentum():
    "Review 16: a layer's own momentum (here 0.3, and None for a cumulative average) is kept, not forced to 0.1."
    mlp = point_mlp((3, 4, 5))
    mlp[1].bn.momentum, mlp[4].bn.momentum = 0.3, None
    recalibrate_batchnorm(mlp, [(torch.randn(16, 3, generator=torch.Generator().manual_seed(0)),)])
    assert mlp[1].bn.momentum == 0.3 and mlp[4].bn.momentum is None
