"""VideoLLM-online: one step of LiveLM-tiny's cached streaming loop against what a user would otherwise write, a
Hugging Face causal LM called with `generate` on the whole prefix at every new frame, at frames 10, 100 and 1,000.

Both models are randomly initialised and of the same width and depth, so the ratio measures the structure of the two
loops (a K/V cache against recomputing the prefix), not trained quality. The quality column checks what the cache
must preserve: the cached step's logits against one full forward of our own model over the same prefix.
"""
import torch
from transformers import GPT2Config, GPT2LMHeadModel
from transformers.utils import logging as hf_logging

from benchmarks.common import BenchmarkRow, fastest
from cvkit.core.claims import seeded_init
from cvkit.papers.videollm_online import LiveLM, TrainConfig

TOKENS_PER_FRAME = 5  # the chapter's frame tokens: 4 grid cells and their mean
FEAT_DIM = 1280  # MobileNetV2's last feature width, the connector's input


def _models(*, vocab_size: int, cfg: TrainConfig) -> tuple[LiveLM, GPT2LMHeadModel]:
    """Our LM and a GPT-2 of the same width, depth, heads and positions, both in eval mode; their random initial
    weights come from named streams of seed 0 (the caller's global generator is left untouched)."""
    if vocab_size < 1:
        raise ValueError(f"vocab_size must be ≥ 1, got {vocab_size}")
    hf_logging.set_verbosity_error()
    with seeded_init(0, "ours"):
        ours = LiveLM(vocab_size, FEAT_DIM, d=cfg.d, layers=cfg.layers, heads=cfg.heads, max_len=cfg.max_len).eval()
    with seeded_init(0, "gpt2"):
        gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=vocab_size, n_positions=cfg.max_len, n_embd=cfg.d,
                                          n_layer=cfg.layers, n_head=cfg.heads)).eval()
    return ours, gpt2


def run(*, quick: bool = False) -> list[BenchmarkRow]:
    """Per-frame LM time at frames 10 and 100 (quick) or 10, 100 and 1,000 of a random feature stream of
    (frames, 5 tokens, 1280) MobileNetV2-sized features; one row per frame index."""
    cfg = TrainConfig()
    ours, gpt2 = _models(vocab_size=200, cfg=cfg)
    frames = (10, 100) if quick else (10, 100, 1000)
    stream = torch.randn(max(frames) + 1, TOKENS_PER_FRAME, FEAT_DIM, generator=torch.Generator().manual_seed(0))
    rows = []
    with torch.no_grad():
        embedded = ours.connector(stream)  # (frames, tokens, d)
        cache, done = None, 0
        for f in frames:
            prefix = embedded[done:f].flatten(0, 1)[None]  # extend the cache to the first f frames
            cache = ours(prefix, cache)[1] if prefix.shape[1] else cache
            done = f
            new = embedded[f][None]  # (1, tokens, d): frame f arrives
            full = ours(embedded[:f + 1].flatten(0, 1)[None])[0][:, -TOKENS_PER_FRAME:]
            delta = float((ours(new, cache)[0] - full).abs().max())
            whole = embedded[:f + 1].flatten(0, 1)[None]
            mask = torch.ones(whole.shape[:2], dtype=torch.long)
            repeats = 1 if f >= 1000 else 3
            rows.append(BenchmarkRow(
                chapter="live", case=f"LM step at frame {f}", reference="GPT-2 generate on the prefix",
                ours_s=fastest(lambda: ours(new, cache), 5),
                reference_s=fastest(lambda: gpt2.generate(inputs_embeds=whole, attention_mask=mask, max_new_tokens=1,
                                                          do_sample=False, pad_token_id=0), repeats),
                quality=f"cache vs full forward max |Δ| {delta:.1e}"))
    return rows
