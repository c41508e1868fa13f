import numpy as np
import pytest
import torch

from cvkit.core.metrics import diversity, frechet_distance


def test_frechet_distance_of_known_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5000, 2))
    assert frechet_distance(a[:2500], a[2500:]) < 0.02
    assert frechet_distance(a, a + np.array([2.0, 0.0])) == pytest.approx(4.0, abs=0.05)  # ‖Δμ‖²
    # scaling one axis by 3: tr(Σa + Σb − 2(ΣaΣb)^½) = (1 + 9 − 6) on that axis = 4
    assert frechet_distance(a, a * np.array([3.0, 1.0])) == pytest.approx(4.0, rel=0.05)
    assert frechet_distance(torch.tensor(a), torch.tensor(a)) == pytest.approx(0.0, abs=1e-6)


def test_diversity_and_bad_input():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 8))
    from scipy.special import gamma

    expected = 2 * gamma(4.5) / gamma(4.0)  # E‖x − y‖ = √2 · E[χ_8] ≈ 3.88
    assert diversity(x, pairs=3000) == pytest.approx(expected, rel=0.03)
    assert diversity(np.zeros((5, 3))) == 0.0
    with pytest.raises(ValueError, match="same d"):
        frechet_distance(x, x[:, :3])
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(x[:1], x)
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.full((3, 2), np.nan), x[:, :2])
    with pytest.raises(ValueError, match="n ≥ 2"):
        diversity(x[:1])
