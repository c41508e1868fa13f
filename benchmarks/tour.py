"""The tour: our separable Gaussian blur against scipy.ndimage.gaussian_filter."""
import numpy as np
import scipy.ndimage as ndi

from benchmarks.common import BenchmarkRow, fastest
from cvkit.tour import blur_separable


def run(quick: bool = False) -> list[BenchmarkRow]:
    """Time and agreement of `blur_separable` and scipy's `gaussian_filter` on random images."""
    sizes = (128,) if quick else (256, 1024)
    sigmas = (2.0,) if quick else (2.0, 8.0)
    repeats = 3 if quick else 7
    rng = np.random.default_rng(0)
    rows = []
    for size in sizes:
        image = rng.random((size, size))
        for sigma in sigmas:
            ours = blur_separable(image, sigma)
            ref = ndi.gaussian_filter(image, sigma, mode="reflect")
            rows.append(BenchmarkRow(
                chapter="tour", case=f"blur {size}² σ={sigma:g}", reference="scipy.ndimage.gaussian_filter",
                ours_s=fastest(lambda: blur_separable(image, sigma), repeats),
                reference_s=fastest(lambda: ndi.gaussian_filter(image, sigma, mode="reflect"), repeats),
                quality=f"max |Δ| {np.max(np.abs(ours - ref)):.1e}"))
    return rows
