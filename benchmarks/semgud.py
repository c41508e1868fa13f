"""SEMGUD: the chapter's two building blocks against the references a user would otherwise pick.

1. The rank-k patch-PCA projection P_k of RPC² (`cvkit.papers.semgud.patch_pca`, one batched `torch.linalg.svd` for
   all images) against scikit-learn's `PCA` fitted and inverted image by image on the same patch matrices; the
   quality column is the largest difference of the folded projections.
2. The blur world's convolution with the reflect boundary rule (`cvkit.core.imaging.convolve`, one grouped
   `conv2d` for a batch with one kernel per image) against `scipy.ndimage.convolve` (mode "mirror", the same rule)
   image by image.
The chapter's own deblurring benchmark (a trained R against Richardson–Lucy and blind MAP) needs a trained network and
lives in the notebook.
"""
import numpy as np
import torch
from scipy import ndimage
from sklearn.decomposition import PCA

from benchmarks.common import BenchmarkRow, fastest
from cvkit.core.imaging import convolve, shake_kernel
from cvkit.papers.semgud import fold_patches, patch_pca, unfold_patches


def pca_row(quick: bool) -> BenchmarkRow:
    "P_k of a batch of crops: ours (batched SVD) against sklearn's PCA per image."
    n, side, k = (4, 32, 8) if quick else (32, 64, 8)
    x = torch.rand(n, 1, side, side, generator=torch.Generator().manual_seed(0), dtype=torch.float64)

    def reference() -> torch.Tensor:
        out = []
        for i in range(n):
            X = unfold_patches(x[i:i + 1])[0].numpy()
            p = PCA(n_components=k, svd_solver="full").fit(X)
            out.append(fold_patches(torch.from_numpy(p.inverse_transform(p.transform(X)))[None], (side, side)))
        return torch.cat(out)

    err = (patch_pca(x, k) - reference()).abs().max().item()
    repeats = 3 if quick else 10
    return BenchmarkRow("semgud", f"P_k {n}×{side}² k={k}", "sklearn PCA per image", fastest(lambda: patch_pca(x, k), repeats),
                        fastest(reference, repeats), f"max |Δ| {err:.1e}")


def convolve_row(quick: bool) -> BenchmarkRow:
    "Per-image camera-shake blur with the reflect rule: ours (grouped conv2d) against scipy.ndimage.convolve."
    n, side, size = (4, 64, 15) if quick else (32, 128, 31)
    rng = np.random.default_rng(0)
    kernels = np.stack([shake_kernel(rng=rng, length=(5.0, size - 2.0), size=size) for _ in range(n)])
    x = torch.rand(n, 1, side, side, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    xs = x[:, 0].numpy()

    def reference() -> np.ndarray:
        return np.stack([ndimage.convolve(xs[i], kernels[i], mode="mirror") for i in range(n)])

    err = float(np.abs(convolve(x, kernels)[:, 0].numpy() - reference()).max())
    repeats = 3 if quick else 10
    return BenchmarkRow("semgud", f"blur {n}×{side}² k{size}", "scipy.ndimage.convolve mirror",
                        fastest(lambda: convolve(x, kernels), repeats), fastest(reference, repeats), f"max |Δ| {err:.1e}")


def run(quick: bool = False) -> list[BenchmarkRow]:
    return [pca_row(quick), convolve_row(quick)]
