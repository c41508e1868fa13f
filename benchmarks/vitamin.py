"""ViTamin / core.clip: our symmetric InfoNCE against transformers' CLIP loss on the same logits, and a training step of
our ViT/8 tower and of ViTamin-tiny against transformers' CLIPVisionModel of the ViT's shape (random init)."""
import torch
from transformers import CLIPVisionConfig, CLIPVisionModel
from transformers.models.clip.modeling_clip import image_text_contrastive_loss

from benchmarks.common import BenchmarkRow, fastest
from cvkit.core.clip import clip_logits, clip_loss
from cvkit.papers.vitamin import build_tower, tower_settings


def _step(model, forward, x) -> None:
    model.zero_grad()
    forward(model, x).float().pow(2).mean().backward()


def run(quick: bool = False) -> list[BenchmarkRow]:
    """The loss on a (B, 384) batch; one training step (batch 64, 32 px) per tower."""
    rows = []
    gen = torch.Generator().manual_seed(0)
    batch = 256 if quick else 4096
    u, v = torch.randn(batch, 384, generator=gen), torch.randn(batch, 384, generator=gen)
    reference = lambda: image_text_contrastive_loss(clip_logits(u, v, 14.3).T)  # noqa: E731 (their logits are text × image)
    delta = float((clip_loss(u, v, 14.3) - reference()).abs())
    rows.append(BenchmarkRow(chapter="vitamin", case=f"InfoNCE B={batch}", reference="transformers CLIP loss",
                             ours_s=fastest(lambda: clip_loss(u, v, 14.3), 5), reference_s=fastest(reference, 5),
                             quality=f"|Δ| {delta:.1e}"))
    settings = tower_settings("tiny", 32)
    vit = settings["ViT/8"][1]
    torch.manual_seed(0)
    ref = CLIPVisionModel(CLIPVisionConfig(hidden_size=vit["dim"], num_hidden_layers=vit["depth"],
                                           num_attention_heads=vit["heads"], intermediate_size=4 * vit["dim"],
                                           image_size=32, patch_size=vit["patch"]))
    x = torch.randn(64, 3, 32, 32, generator=gen)
    ref_forward = lambda m, t: m(pixel_values=t).pooler_output  # noqa: E731
    reps = 2 if quick else 5
    ref_s = fastest(lambda: _step(ref, ref_forward, x), reps)
    n_ref = sum(p.numel() for p in ref.parameters())
    for name in ("ViT/8", "ViTamin"):
        tower = build_tower(*settings[name])
        n = sum(p.numel() for p in tower.parameters())
        rows.append(BenchmarkRow(chapter="vitamin", case=f"{name}-tiny step B=64 32px", reference="transformers CLIPVisionModel",
                                 ours_s=fastest(lambda: _step(tower, lambda m, t: m(t), x), reps), reference_s=ref_s,
                                 quality=f"params {n / n_ref:.2f}× reference"))
    return rows
