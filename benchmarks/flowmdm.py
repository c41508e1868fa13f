"""FlowMDM: relative mode's windowed attention computed as a band against the masked dense form, as the sequence
grows; and sampling a long composition in one pass against segment by segment."""
import math

import torch

from benchmarks.common import BenchmarkRow, fastest
from cvkit.core.diffusion import alphas_cumprod_schedule
from cvkit.papers.flowmdm import FlowMDMDenoiser, banded_attention, bpe_sample, window_mask


def masked_dense_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, horizon: int) -> torch.Tensor:
    """All L × L scores, then the window mask: what `PCCATLayer` computes."""
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    allowed = torch.as_tensor(window_mask(q.shape[-2], horizon))
    return torch.softmax(scores.masked_fill(~allowed, float("-inf")), -1) @ v


def run(quick: bool = False) -> list[BenchmarkRow]:
    """Banded vs dense windowed attention for growing L (H = 20); one-pass vs per-segment BPE sampling."""
    rows = []
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for length in ((256,) if quick else (256, 1024, 4096)):
            q, k, v = (torch.randn(1, 4, length, 16, generator=gen) for _ in range(3))
            delta = float((banded_attention(q, k, v, 20) - masked_dense_attention(q, k, v, 20)).abs().max())
            rows.append(BenchmarkRow(
                chapter="flowmdm", case=f"windowed attention L={length} H=20", reference="masked dense L×L",
                ours_s=fastest(lambda: banded_attention(q, k, v, 20), 3),
                reference_s=fastest(lambda: masked_dense_attention(q, k, v, 20), 3),
                quality=f"max |Δ| {delta:.1e}"))
    torch.manual_seed(0)
    model = FlowMDMDenoiser(pose_dim=50, text_dim=384, dim=64, layers=2, heads=4, ff=128, horizon=20).eval()
    segments, frames, steps = (4, 40, 5) if quick else (8, 40, 20)
    text = torch.randn(1, segments * frames, 384, generator=gen)
    ac = alphas_cumprod_schedule(1000, "squaredcos_cap_v2").float()
    one_pass = lambda: bpe_sample(model, text, [frames] * segments, ac, num_steps=steps, absolute_steps=2, guidance=1.5,
                                  generator=torch.Generator().manual_seed(0))
    per_segment = lambda: [bpe_sample(model, text[:, i * frames:(i + 1) * frames], [frames], ac, num_steps=steps,
                                      absolute_steps=2, guidance=1.5, generator=torch.Generator().manual_seed(i))
                           for i in range(segments)]
    rows.append(BenchmarkRow(
        chapter="flowmdm", case=f"BPE sampling {segments}×{frames} frames, {steps} steps", reference="segment by segment",
        ours_s=fastest(one_pass, 2), reference_s=fastest(per_segment, 2),
        quality="one pass: joins denoised together"))
    return rows
