import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from cvkit.core.imaging import (blind_deconvolve, blur_features, camera_blur, convolve, disc_kernel, linear_kernel,
                                path_extent, psf2otf, psnr, rasterise_path, shake_kernel, shake_trajectory,
                                ssim)
from cvkit.core.metrics import frechet_distance


def test_shake_kernels_are_seed_deterministic_with_lengths_in_range():
    for seed in range(20):
        length = np.random.default_rng(seed).uniform(5, 21)
        path = shake_trajectory(length, rng=np.random.default_rng(seed))
        assert np.linalg.norm(np.diff(path, axis=0), axis=1).sum() == pytest.approx(length)
        k = shake_kernel(rng=np.random.default_rng(seed))
        assert np.array_equal(k, shake_kernel(rng=np.random.default_rng(seed)))
        assert k.shape == (23, 23) and k.min() >= 0 and k.sum() == pytest.approx(1.0)
        rows, cols = np.nonzero(k)
        assert max(np.ptp(rows), np.ptp(cols)) <= 22  # the support's extent is at most the path length + 1 pixel
    assert not np.array_equal(shake_kernel(rng=np.random.default_rng(0)), shake_kernel(rng=np.random.default_rng(1)))
    with pytest.raises(ValueError, match="length"):
        shake_kernel(rng=np.random.default_rng(0), length=(5, 30))
    with pytest.raises(ValueError, match="inertia"):
        shake_trajectory(5, rng=np.random.default_rng(0), inertia=1.0)


def test_shake_extents_follow_lengths_with_inertia():
    """A walk with inertia travels: over the issue's 5–21 px lengths the extent (largest distance between two points)
    is close to the length, at every step size. The curling walk of the first version (0.25 rad turn per 0.25-px step)
    had a median extent of 0.37–0.65 of the length and fails this test."""
    rng = np.random.default_rng(123)
    lengths = rng.uniform(5, 21, 400)
    ext = np.array([path_extent(shake_trajectory(length, rng=rng)) for length in lengths])
    ratio = ext / lengths
    assert (ext <= lengths + 1e-9).all()
    assert np.median(ratio) >= 0.85 and np.percentile(ratio, 10) >= 0.6
    lo, mid, hi = np.percentile(ext, [5, 50, 95])
    assert 4.5 <= lo <= 7 and 9 <= mid <= 13 and 15 <= hi <= 21  # extents span the documented 5–21 px
    by_step = [np.median([path_extent(shake_trajectory(13.0, rng=np.random.default_rng(i), step=step)) / 13
                          for i in range(200)]) for step in (0.1, 0.5)]
    assert abs(by_step[0] - by_step[1]) < 0.03  # the turning statistics are per pixel, not per step
    straight = shake_trajectory(13.0, rng=np.random.default_rng(0), turn=0.0)
    assert path_extent(straight) == pytest.approx(13.0)
    with pytest.raises(ValueError, match="turn"):
        shake_trajectory(5, rng=np.random.default_rng(0), turn=-1.0)
    with pytest.raises(ValueError, match="points"):
        path_extent(np.zeros((3, 3)))


def test_linear_and_disc_kernels_by_hand():
    k = linear_kernel(5, 90, size=7)  # vertical: one column, five rows
    assert np.count_nonzero(k.sum(axis=0)) == 1 and np.count_nonzero(k.sum(axis=1)) == 5
    assert k[3, 3] == pytest.approx(k.max())
    d = disc_kernel(3)
    assert d.shape == (3, 3) and np.count_nonzero(d) == 9 and d.sum() == pytest.approx(1)  # corners at √2 ≤ 1.5
    d5 = disc_kernel(4)
    assert d5.shape == (5, 5) and np.count_nonzero(d5) == 13  # |p|² ≤ 4
    with pytest.raises(ValueError, match="too long"):
        rasterise_path(np.array([[0.0, 0.0], [10.0, 0.0]]), 5)
    with pytest.raises(ValueError, match="diameter"):
        disc_kernel(0)


def test_convolve_matches_scipy_and_checks_input():
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.random((3, 2, 17, 21)))
    ks = np.stack([shake_kernel(rng=rng, size=9, length=(3, 7)) for _ in range(3)])
    y = convolve(x, ks)
    for i in range(3):
        for c in range(2):
            assert np.allclose(y[i, c].numpy(), ndimage.convolve(x[i, c].numpy(), ks[i], mode="mirror"))
    delta = np.zeros((5, 5)); delta[2, 2] = 1
    assert torch.allclose(convolve(x, delta), x)
    with pytest.raises(ValueError, match="too large"):
        convolve(torch.rand(1, 1, 8, 8), np.ones((23, 23)) / 529)
    with pytest.raises(ValueError, match="NaN"):
        convolve(torch.full((1, 1, 8, 8), float("nan")), delta)
    with pytest.raises(ValueError, match="odd"):
        convolve(torch.rand(1, 1, 8, 8), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        convolve(torch.rand(8, 8), delta)


def test_camera_blur_pipeline():
    x = torch.rand(8, 1, 24, 24, generator=torch.Generator().manual_seed(0))
    ks = np.stack([shake_kernel(rng=np.random.default_rng(i)) for i in range(8)])
    a = camera_blur(x, ks, rng=torch.Generator().manual_seed(5), second=ks[::-1].copy(), varying=0.5)
    b = camera_blur(x, ks, rng=torch.Generator().manual_seed(5), second=ks[::-1].copy(), varying=0.5)
    assert torch.equal(a, b) and a.min() >= 0 and a.max() <= 1
    assert torch.allclose(a * 255, torch.round(a * 255), atol=1e-4)
    clean = camera_blur(x, ks, rng=torch.Generator().manual_seed(5), photons=float("inf"), read_noise=0, bits=None)
    expected = convolve(x ** 2.2, ks).clamp(0, 1) ** (1 / 2.2)  # blur happens in linear light
    assert torch.allclose(clean, expected, atol=1e-6)
    assert not torch.allclose(clean, convolve(x, ks), atol=1e-3)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        camera_blur(x * 2, ks, rng=torch.Generator())


def test_metrics_agree_with_scikit_image():
    g = torch.Generator().manual_seed(2)
    y = torch.rand(3, 1, 40, 40, generator=g, dtype=torch.float64)
    x = (y + 0.1 * torch.randn(y.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    ours = psnr(x, y, border=5)
    ours_ssim = ssim(x, y, border=5)
    for i in range(3):
        a, b = y[i, 0, 5:-5, 5:-5].numpy(), x[i, 0, 5:-5, 5:-5].numpy()
        assert ours[i].item() == pytest.approx(peak_signal_noise_ratio(a, b, data_range=1))
        assert ours_ssim[i] == pytest.approx(structural_similarity(a, b, data_range=1, gaussian_weights=True, sigma=1.5,
                                                                   use_sample_covariance=False))
    assert psnr(y, y).min() > 100
    with pytest.raises(ValueError, match="border"):
        psnr(x, y, border=20)
    with pytest.raises(ValueError, match="same shape"):
        psnr(x, y[:, :, :30])


def test_blur_features_rise_with_blur():
    img = torch.rand(40, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    f0 = blur_features(img)
    assert f0.shape == (40, 24) and np.isfinite(f0).all()
    fds = [frechet_distance(f0, blur_features(convolve(img, disc_kernel(d)))) for d in (3, 7)]
    assert fds[0] < fds[1]
    hf = [blur_features(convolve(img, disc_kernel(d)))[:, 11].mean() for d in (3, 7)]  # highest radial band
    assert hf[1] < hf[0] < f0[:, 11].mean()
    with pytest.raises(ValueError, match="grey"):
        blur_features(torch.rand(2, 3, 16, 16))


def test_psf2otf_is_circular_convolution():
    rng = np.random.default_rng(0)
    x, k = rng.random((16, 16)), rng.random((5, 5))
    via_fft = np.real(np.fft.ifft2(np.fft.fft2(x) * psf2otf(k, x.shape)))
    assert np.allclose(via_fft, ndimage.convolve(x, k, mode="wrap"))


def test_blind_deconvolution_recovers_a_linear_kernel_on_bars():
    bars = np.zeros((64, 64))
    for i, c in enumerate(range(6, 60, 9)):
        bars[:, c:c + 3 + i % 3] = 1.0
    bars[20:24, :] = 0.5
    true_k = linear_kernel(7, 0, size=15)
    blurred = convolve(torch.tensor(bars)[None, None], true_k)[0, 0].numpy()
    restored, k = blind_deconvolve(blurred, kernel_size=15)
    assert np.corrcoef(k.ravel(), true_k.ravel())[0, 1] > 0.6
    assert k.sum() == pytest.approx(1) and k.min() >= 0
    assert k[7].sum() > 0.7  # most of the mass on the centre row: a horizontal kernel
    assert np.abs(restored - bars).mean() < np.abs(blurred - bars).mean()
    with pytest.raises(ValueError, match="kernel_size"):
        blind_deconvolve(blurred[:10, :10], kernel_size=23)
    with pytest.raises(ValueError, match="NaN"):
        blind_deconvolve(np.full((32, 32), np.nan), kernel_size=7)


def test_bad_inputs_of_metrics_blur_and_blind_map():
    x = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        psnr(x * 2, x)
    with pytest.raises(ValueError, match=r"y must lie in \[0, 1\]"):
        psnr(x, x - 0.5)
    k = np.full((1, 3, 3), 1 / 9)
    camera_blur(x, k, rng=torch.Generator().manual_seed(0))  # a normalised kernel is fine
    with pytest.raises(ValueError, match="kernels must be finite, non-negative and each sum to 1"):
        camera_blur(x, 2 * k, rng=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="second must"):
        camera_blur(x, k, rng=torch.Generator().manual_seed(0), second=-k)
    img = np.random.default_rng(0).random((32, 32))
    with pytest.raises(ValueError, match="lam must be > 0"):
        blind_deconvolve(img, kernel_size=7, lam=-1e-2)
    with pytest.raises(ValueError, match="levels, iters and rl_iters"):
        blind_deconvolve(img, kernel_size=7, iters=0)
