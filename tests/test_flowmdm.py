import numpy as np
import pytest
import torch

from cvkit.papers.flowmdm import (absolute_positions, area_under_jerk, bpe_schedule, check_segments, frame_jerk, jerk,
                                  mean_transition_jerk, peak_jerk, pooled_transition_jerk, rotary, segment_boundaries,
                                  segment_mask, transition_windows, window_mask)


def test_segments_and_masks():
    assert list(segment_boundaries([3, 2, 4])) == [3, 5]
    assert list(absolute_positions([3, 2])) == [0, 1, 2, 0, 1]
    m = segment_mask([2, 3])
    assert m.shape == (5, 5) and m[0, 1] and not m[1, 2] and m[4, 2]
    w = window_mask(5, 1)
    assert w[2, 1] and w[2, 3] and not w[2, 4] and w.sum() == 13
    with pytest.raises(ValueError, match="empty"):
        check_segments([3, 0, 2])
    with pytest.raises(ValueError, match="add up to 5 frames"):
        check_segments([3, 2], total=6)
    with pytest.raises(ValueError, match="at least one segment"):
        check_segments([])


def test_rotary_depends_on_offset_only():
    gen = torch.Generator().manual_seed(0)
    q, k = torch.randn(8, generator=gen, dtype=torch.float64), torch.randn(8, generator=gen, dtype=torch.float64)
    def score(i: int, j: int) -> float:
        qi = rotary(q[None], torch.tensor([i]))[0]
        kj = rotary(k[None], torch.tensor([j]))[0]
        return float(qi @ kj)
    assert score(3, 1) == pytest.approx(score(10, 8)) and score(0, 0) == pytest.approx(float(q @ k))
    x = torch.randn(2, 5, 8, generator=gen)
    assert torch.allclose(rotary(x, torch.arange(5)).norm(dim=-1), x.norm(dim=-1), atol=1e-5)  # a rotation
    with pytest.raises(ValueError, match="even"):
        rotary(torch.zeros(3, 5), torch.arange(3))


def test_bpe_schedule():
    assert bpe_schedule(5, 2) == ["absolute"] * 2 + ["relative"] * 3
    assert bpe_schedule(4, 0) == ["relative"] * 4 and bpe_schedule(4, 4) == ["absolute"] * 4
    with pytest.raises(ValueError):
        bpe_schedule(4, 5)


def test_jerk_of_polynomials():
    t = np.arange(12, dtype=float)
    quadratic = np.stack([t**2, 0 * t, 0 * t], -1)[:, None, :]  # (L, 1, 3): constant acceleration, zero jerk
    assert np.allclose(jerk(quadratic), 0)
    cubic = np.stack([t**3, -2 * t**3, 0 * t], -1)[:, None, :]  # jerk 6 and −12 per frame³
    assert np.allclose(jerk(cubic)[:, 0], [6, -12, 0]) and np.allclose(frame_jerk(cubic), 18)
    two_joints = np.concatenate([quadratic, cubic], axis=1)
    assert np.allclose(frame_jerk(two_joints), 18)  # the max over joints
    with pytest.raises(ValueError, match="at least 4 frames"):
        jerk(np.zeros((3, 2, 3)))


def test_transition_metrics_on_a_step():
    L = 40
    p = np.zeros((L, 2, 3))
    p[20:, 0, 0] = 1.0  # a jump at frame 20
    curve = mean_transition_jerk(p, [20], window=10)
    # a step's third difference is the second difference of an impulse: 1, −2, 1 at frames 17..19 (local 2..4)
    assert np.array_equal(curve, [0, 0, 1, 2, 1, 0, 0]) and peak_jerk(curve) == 2.0
    assert area_under_jerk(curve, 0.0) == pytest.approx(4.0)
    assert area_under_jerk(curve, 1.0) == pytest.approx(abs(curve - 1).sum())
    pooled = pooled_transition_jerk([(p, [20]), (np.zeros((L, 2, 3)), [10, 30])], window=10)
    assert np.allclose(pooled, curve / 3)  # averaged over all three windows before the max
    with pytest.raises(ValueError, match="does not fit"):
        transition_windows([2], 40, 10)
