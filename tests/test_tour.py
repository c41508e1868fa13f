"""Unit tests of the tour's exported module, cvkit.tour."""
import numpy as np
import pytest
import scipy.ndimage as ndi

from cvkit.tour import (CONFIGS, add_gaussian_noise, add_impulse_noise, best_setting, blur_2d, blur_separable,
                        compare_filters, fastest_time_s, gaussian_kernel1d, load_photo, median_denoise, psnr)


def test_gaussian_kernel_hand_computed():
    g = gaussian_kernel1d(1.0, radius=1)
    w = np.exp(-0.5)
    assert np.allclose(g, np.array([w, 1.0, w]) / (1 + 2 * w))
    assert len(gaussian_kernel1d(2.5)) == 2 * 10 + 1
    for bad in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="sigma"):
            gaussian_kernel1d(bad)
    with pytest.raises(ValueError, match="radius"):
        gaussian_kernel1d(1.0, radius=-2)


def test_separable_equals_2d_and_matches_scipy():
    img = np.random.default_rng(0).random((40, 33))
    for sigma in (0.7, 2.0):
        assert np.abs(blur_2d(img, sigma) - blur_separable(img, sigma)).max() < 1e-12
        assert np.abs(blur_separable(img, sigma) - ndi.gaussian_filter(img, sigma, mode="reflect")).max() < 1e-10


def test_blur_preserves_constants_and_mean():
    flat = np.full((16, 16), 0.3)
    assert np.allclose(blur_separable(flat, 2.0), 0.3)


def test_bad_images_are_rejected():
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        blur_separable(np.zeros((3, 8, 8)), 1.0)
    with pytest.raises(TypeError, match="float"):
        median_denoise(np.zeros((8, 8), dtype=np.uint8), 3)
    with pytest.raises(ValueError, match="odd"):
        median_denoise(np.zeros((8, 8)), 4)


def test_noise_models_are_seeded_and_shaped():
    img = np.full((64, 64), 0.5)
    a, b = add_impulse_noise(img, 0.2, seed=1), add_impulse_noise(img, 0.2, seed=1)
    assert np.array_equal(a, b) and not np.array_equal(a, add_impulse_noise(img, 0.2, seed=2))
    changed = a != img
    assert 0.15 < changed.mean() < 0.25 and set(np.unique(a[changed])) <= {0.0, 1.0}
    g = add_gaussian_noise(img, 0.05, seed=0)
    assert g.min() >= 0 and g.max() <= 1 and 0.04 < np.std(g - img) < 0.06
    with pytest.raises(ValueError):
        add_impulse_noise(img, 1.5, seed=0)
    with pytest.raises(ValueError):
        add_gaussian_noise(img, -0.1, seed=0)


def test_median_removes_isolated_impulses_exactly():
    img = np.full((9, 9), 0.5)
    img[4, 4] = 1.0
    assert np.allclose(median_denoise(img, 3), 0.5)


def test_psnr_and_best_setting():
    clean = np.full((8, 8), 0.5)
    assert psnr(clean, clean + 0.1) == pytest.approx(20.0)
    best, score = best_setting(clean, clean + 0.1, lambda x, s: x - s, [0.0, 0.05, 0.1])
    assert best == 0.1 and score == pytest.approx(psnr(clean, clean))
    with pytest.raises(ValueError):
        best_setting(clean, clean, lambda x, s: x, [])


def test_load_photo():
    img = load_photo("camera", 32)
    assert img.shape == (32, 32) and img.dtype == np.float64 and 0 <= img.min() and img.max() <= 1
    assert load_photo("astronaut", 16).shape == (16, 16)
    with pytest.raises(ValueError, match="no bundled image"):
        load_photo("not_a_photo", 32)


def test_compare_filters_and_timer():
    r = compare_filters("camera", CONFIGS["smoke"], seed=0)
    assert r.median_gain_impulse > 0 and r.gaussian_gain_gaussnoise > 0
    assert fastest_time_s(lambda: None, 3) >= 0
    with pytest.raises(ValueError):
        fastest_time_s(lambda: None, 0)


def _tiny(**kw):
    from dataclasses import replace

    return replace(CONFIGS["smoke"], **{"image_size": 32, "photos": ("camera", "coins"), "n_replicates": 3,
                                        "timing_repeats": 1, **kw})


def test_measure_and_claim_measurements():
    from cvkit.core.claims import Measurement, NotMeasured
    from cvkit.tour import SPECS, claim_measurements, measure, random_image

    m = measure(_tiny(), seed=1)
    assert m.seeds == (1000, 1001, 1002) and m.taps == 33  # run SEED=1 uses the block after SEED=0's, never SEED=0's seeds
    assert len(m.draws) == 3 and [r.photo for r in m.photos] == ["camera", "coins"]
    assert len(m.max_diffs) == len(m.times_2d_s) == len(m.times_separable_s) == 3 and max(m.max_diffs) < 1e-12
    assert len({float(random_image(s, 8)[0, 0]) for s in m.seeds}) == 3  # each replicate blurs its own random image
    assert m.min_improvement > 0
    meas = claim_measurements(m)
    assert list(meas) == [s.id for s in SPECS]
    assert all(isinstance(v, (Measurement, NotMeasured)) for v in meas.values())
    assert meas["median-beats-gaussian-on-impulses"].n == 3 and meas["median-wins-across-photos"].n == 2
    assert meas["separable-faster"].kind == "ratio" and meas["separable-exact"].unit == "image"


def test_specs_cover_every_scale_and_match_the_configs():
    from cvkit.core.claims import SCALES
    from cvkit.tour import SPECS, gaussian_kernel1d

    assert set(CONFIGS) == set(SCALES)
    for spec in SPECS:
        assert set(spec.rules) == set(CONFIGS), spec.id
        assert spec.source == "not-retrieved" and spec.paper_ref.startswith("Szeliski 2022")
    assert sum(s.central for s in SPECS) == 1
    for cfg in CONFIGS.values():  # the metrics' wording quotes these values
        assert cfg.impulse_density == 0.1 and cfg.gaussian_std == 0.1 and len(gaussian_kernel1d(cfg.timing_sigma)) == 33
        assert cfg.photos[0] == "camera" and len(cfg.photos) >= 2
    for scale in ("laptop", "gpu"):  # compared claims need n >= 5 there
        assert CONFIGS[scale].n_replicates >= 5 and len(CONFIGS[scale].photos) >= 5


def test_identity_treatment_gives_zero_paired_difference():
    from cvkit.core.claims import numpy_stream, paired, replicate_seeds
    from cvkit.tour import noisy_versions

    cfg = _tiny()
    clean = load_photo("camera", cfg.image_size)
    seeds = replicate_seeds(0, 4)

    def arm(denoise, settings):  # each arm draws its replicates' noise itself, as a separate run would
        return [best_setting(clean, noisy_versions(clean, cfg, s)[0], denoise, settings)[1] for s in seeds]

    identity = paired(arm(blur_separable, cfg.sigmas), arm(blur_separable, cfg.sigmas), unit="noise draw")
    assert identity.values == (0.0,) * len(seeds)
    treated = paired(arm(median_denoise, cfg.median_sizes), arm(blur_separable, cfg.sigmas), unit="noise draw")
    assert all(v != 0 for v in treated.values)
    impulsy, gaussy = noisy_versions(clean, cfg, seeds[0])  # each noise has its own named stream of the seed
    assert not np.array_equal(impulsy, noisy_versions(clean, cfg, seeds[1])[0])
    assert np.array_equal(gaussy, add_gaussian_noise(clean, cfg.gaussian_std, numpy_stream(seeds[0], "gaussian-noise")))
