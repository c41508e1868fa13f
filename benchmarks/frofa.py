"""FroFA: the folded single-query MAP pooling against nn.MultiheadAttention, and our batched feature augmentations
against Pillow's per-image ImageEnhance/ImageOps on 8-bit RGB images."""
import numpy as np
import torch
from PIL import Image, ImageEnhance, ImageOps

from benchmarks.common import BenchmarkRow, fastest
from cvkit.papers.frofa import MAPHead, brightness, equalize


def _to_unit(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0


def _grey_levels(x: torch.Tensor) -> np.ndarray:
    return (x.permute(0, 2, 3, 1) * 255).round().numpy().astype(int)


def run(quick: bool = False) -> list[BenchmarkRow]:
    """MAP pooling on (64, N, 320) tokens; brightness and equalize on a batch of RGB images."""
    rows = []
    torch.manual_seed(0)
    head = MAPHead(dim=320, num_classes=10).eval()
    for side in ((7,) if quick else (4, 7, 14)):
        tokens = torch.randn(64, side * side, 320)
        with torch.no_grad():
            normed = head.norm_in(tokens)
            probe = head.probe.expand(64, 1, 320)
            reference = lambda: head.attn(probe, normed, normed)[0][:, 0]
            delta = float((head.pool(tokens) - reference()).abs().max())
            rows.append(BenchmarkRow(
                chapter="frofa", case=f"MAP pool 64×{side * side}×320", reference="nn.MultiheadAttention",
                ours_s=fastest(lambda: head.pool(tokens), 5), reference_s=fastest(reference, 5),
                quality=f"max |Δ| {delta:.1e}"))
    count, size = (8, 64) if quick else (64, 224)
    images = np.random.default_rng(0).integers(0, 256, (count, size, size, 3)).astype(np.uint8)
    pil = [Image.fromarray(im) for im in images]
    factor = torch.full((count,), 1.4)
    ours = _grey_levels(brightness(_to_unit(images), factor))
    ref = np.stack([np.asarray(ImageEnhance.Brightness(p).enhance(1.4)) for p in pil]).astype(int)
    rows.append(BenchmarkRow(
        chapter="frofa", case=f"brightness {count}×{size}²×3", reference="PIL ImageEnhance.Brightness",
        ours_s=fastest(lambda: brightness(_to_unit(images), factor), 3),
        reference_s=fastest(lambda: [ImageEnhance.Brightness(p).enhance(1.4) for p in pil], 3),
        quality=f"max |Δ| {np.abs(ours - ref).max()} grey level(s)"))
    ours = _grey_levels(equalize(_to_unit(images)))
    ref = np.stack([np.asarray(ImageOps.equalize(p)) for p in pil]).astype(int)
    rows.append(BenchmarkRow(
        chapter="frofa", case=f"equalize {count}×{size}²×3", reference="PIL ImageOps.equalize",
        ours_s=fastest(lambda: equalize(_to_unit(images)), 3),
        reference_s=fastest(lambda: [ImageOps.equalize(p) for p in pil], 3),
        quality=f"max |Δ| {np.abs(ours - ref).max()} grey level(s)"))
    return rows
