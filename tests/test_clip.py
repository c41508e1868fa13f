import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cvkit.core.claims import seeded_init
from cvkit.core.clip import (EOT, MAX_LOGIT_SCALE, SOT, UNK, LockedText, LogitScale, TextTransformer, WordTokenizer,
                             clip_logits, clip_loss, cosine_lr, count_macs, count_params, embed_images, image_batch,
                             recall_at_k, steps_for, train_clip, train_clip_stream, zero_shot_classifier,
                             zero_shot_predict)


def test_clip_loss_hand_case_and_symmetry():
    eye = torch.eye(5)
    assert float(clip_loss(eye, eye, 1.0)) == pytest.approx(math.log(math.e + 4) - 1, abs=1e-6)
    u, v = torch.randn(7, 3), torch.randn(7, 3)
    assert torch.allclose(clip_loss(u, v, 5.0), clip_loss(v, u, 5.0))
    # equals the mean of the two cross-entropies computed by hand
    logits = 5.0 * F.normalize(u, dim=1) @ F.normalize(v, dim=1).T
    t = torch.arange(7)
    assert torch.allclose(clip_loss(u, v, 5.0), (F.cross_entropy(logits, t) + F.cross_entropy(logits.T, t)) / 2)
    assert clip_logits(u, v, 2.0).shape == (7, 7)


def test_clip_loss_bad_input():
    with pytest.raises(ValueError, match="pair up"):
        clip_loss(torch.randn(4, 3), torch.randn(5, 3), 1.0)
    with pytest.raises(ValueError, match=r"\(B, E\)"):
        clip_loss(torch.randn(4), torch.randn(4), 1.0)


def test_logit_scale_init_and_clamp():
    s = LogitScale()
    assert float(s().detach()) == pytest.approx(1 / 0.07, rel=1e-5)
    with torch.no_grad():
        s.log_scale.fill_(9.0)
    assert float(s().detach()) == MAX_LOGIT_SCALE
    with pytest.raises(ValueError, match="init"):
        LogitScale(200.0)


def test_recall_at_k_hand_matrices():
    sim = torch.tensor([[0.9, 0.1, 0.0], [0.8, 0.7, 0.1], [0.3, 0.2, 0.1]])
    assert [recall_at_k(sim, k) for k in (1, 2, 3)] == [1 / 3, 2 / 3, 1.0]
    assert recall_at_k(torch.eye(4), 1) == 1.0 and recall_at_k(torch.zeros(4, 4), 3) == 0.0
    with pytest.raises(ValueError, match="square"):
        recall_at_k(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="k must"):
        recall_at_k(torch.eye(3), 0)


def test_zero_shot_classifier_and_predict():
    emb = torch.tensor([[[3.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 5.0]]])
    cls = zero_shot_classifier(emb)
    assert torch.allclose(cls, torch.eye(2))
    assert zero_shot_predict(torch.tensor([[1.0, 0.2], [-1.0, 3.0]]), cls).tolist() == [0, 1]
    with pytest.raises(ValueError, match="class_text_emb"):
        zero_shot_classifier(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="share E"):
        zero_shot_predict(torch.zeros(2, 3), cls)


def test_schedule_and_steps():
    lrs = [cosine_lr(t, 100, base=0.1, warmup=10) for t in range(100)]
    assert lrs[9] == pytest.approx(0.1) and lrs[10] == pytest.approx(0.1) and lrs[-1] < 1e-4
    assert max(lrs) == pytest.approx(0.1)
    assert steps_for(8192, 128) == 64
    with pytest.raises(ValueError):
        cosine_lr(100, 100, base=0.1)
    with pytest.raises(ValueError, match="one batch"):
        steps_for(10, 128)


def test_macs_against_hand_counts():
    assert count_macs(nn.Conv2d(4, 6, 3, padding=1, stride=2), torch.zeros(2, 4, 8, 8)) == 2 * 6 * 4 * 9 * 16
    assert count_macs(nn.Linear(7, 5), torch.zeros(3, 7)) == 3 * 7 * 5
    assert count_params(nn.Linear(7, 5)) == 40


def test_tokenizer_round_trip_and_errors():
    tok = WordTokenizer(["one object: a red star on the left"], context=8)
    ids = tok.encode(["a red star", "a blue star on the left of everything"])
    assert ids.shape == (2, 8) and ids[0, 0] == SOT and ids[0, 4] == EOT and ids[1, -1] == EOT and UNK in ids[1]
    assert tok.decode(tok.encode(["a red star on the left"])[0]) == "a red star on the left"
    with pytest.raises(ValueError, match="at least one word"):
        tok.encode(["a red star", " ,"])
    with pytest.raises(ValueError, match="non-empty"):
        tok.encode([])
    with pytest.raises(ValueError, match="context"):
        WordTokenizer(["a"], context=2)


def test_text_transformer_reads_up_to_eot():
    tok = WordTokenizer(["a red star", "a blue ring"], context=8)
    with seeded_init(0, "t"):
        tt = TextTransformer(tok, width=16, depth=1, heads=2, embed_dim=8)
    ids = tok.encode(["a red star"])
    changed = ids.clone()
    changed[0, 6:] = 5  # after the <eot>: causal attention never lets the <eot> feature read them
    assert torch.allclose(tt.encode_ids(ids), tt.encode_ids(changed), atol=1e-6)
    assert tt(["a red star", "a blue ring"]).shape == (2, 8)
    with pytest.raises(ValueError, match="divisible"):
        TextTransformer(tok, width=10, heads=3)


def test_locked_text_embeds_once():
    lt = LockedText(["a red star"])
    assert lt.add(["a red star", "a blue ring"]) == 1 and len(lt.table) == 2
    e = lt(["a blue ring", "a red star"])
    assert torch.allclose(e[1], lt.table[lt.index["a red star"]]) and count_params(lt) == 0
    with pytest.raises(ValueError, match="at least one"):
        lt([])


def test_image_batch_and_errors():
    x = torch.full((2, 4, 4, 3), 255, dtype=torch.uint8)
    assert torch.allclose(image_batch(x), torch.full((2, 3, 4, 4), 2.0))
    with pytest.raises(ValueError, match="uint8"):
        image_batch(torch.zeros(2, 4, 4, 3))


def test_training_overfits_64_pairs_and_is_deterministic():
    gen = torch.Generator().manual_seed(0)
    images = (torch.rand(64, 8, 8, 3, generator=gen) * 255).to(torch.uint8)
    captions = [f"item {i}" for i in range(64)]

    def run():
        with seeded_init(0, "toy"):
            image = nn.Sequential(nn.Flatten(), nn.Linear(192, 128), nn.GELU(), nn.Linear(128, 32))
            text = TextTransformer(WordTokenizer(captions, context=6), width=32, depth=1, heads=2, embed_dim=32)
        hist = train_clip(image, text, images.repeat(60, 1, 1, 1), captions * 60, batch=64, lr=5e-3,
                          order=torch.Generator().manual_seed(1))
        with torch.no_grad():
            sim = embed_images(image, images) @ text(captions).T
        return hist, sim

    hist, sim = run()
    assert recall_at_k(sim, 1) >= 0.95 and hist["loss"][-1] < 0.2 * hist["loss"][0]
    assert run()[0]["loss"] == hist["loss"]  # same streams, same run
    with pytest.raises(ValueError, match="pair up"):
        train_clip(image_batch, None, images, captions[:3], batch=2, lr=1e-3, order=gen)
    with pytest.raises(ValueError, match="non-empty"):
        train_clip(image_batch, None, images[:2], ["a", " "], batch=2, lr=1e-3, order=gen)


def test_macs_count_attention():
    # F.scaled_dot_product_attention on the CPU: QKᵀ and AV, B·H·N²·d MACs each (torch's counter alone gives 0)
    q = torch.randn(2, 4, 16, 8)

    class Sdpa(nn.Module):
        def forward(self, x):
            return F.scaled_dot_product_attention(x, x, x)

    assert count_macs(Sdpa(), q) == 2 * (2 * 4 * 16 * 16 * 8)
    # nn.MultiheadAttention in eval mode: four D×D projections of N tokens plus 2·N²·D, fast path or not
    mha = nn.MultiheadAttention(32, 4, batch_first=True).eval()
    x = torch.randn(2, 16, 32)

    class SelfAttention(nn.Module):
        def forward(self, x):
            return mha(x, x, x, need_weights=False)[0]

    assert count_macs(SelfAttention(), x) == 2 * (4 * 16 * 32 * 32) + 2 * (2 * 16 * 16 * 32)


def test_non_finite_inputs_are_refused():
    nan_sim = torch.eye(3)
    nan_sim[1, 1] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        recall_at_k(nan_sim, 1)
    classifier = zero_shot_classifier(torch.randn(3, 2, 5))
    with pytest.raises(ValueError, match="non-finite"):
        zero_shot_predict(torch.full((4, 5), float("nan")), classifier)
    with pytest.raises(ValueError, match="non-finite"):
        clip_loss(torch.full((2, 3), float("inf")), torch.randn(2, 3), 1.0)
    with pytest.raises(ValueError, match="positive"):
        clip_loss(torch.randn(2, 3), torch.randn(2, 3), -1.0)
    with pytest.raises(ValueError, match="positive"):
        clip_loss(torch.randn(2, 3), torch.randn(2, 3), float("nan"))


def test_train_clip_stops_on_a_non_finite_loss():
    captions = [f"item {i}" for i in range(8)]

    class Diverged(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(1))

        def forward(self, x):
            return self.w * torch.full((len(x), 4), float("nan"))

    text = TextTransformer(WordTokenizer(captions, context=4), width=8, depth=1, heads=2, embed_dim=4)
    images = torch.zeros(8, 4, 4, 3, dtype=torch.uint8)
    with pytest.raises((FloatingPointError, ValueError), match="non-finite|diverged"):
        train_clip(Diverged(), text, images, captions, batch=4, lr=1e-3, order=torch.Generator().manual_seed(0))


def test_train_clip_stream_equals_train_clip_on_the_same_batches_and_checks_its_input():
    gen = torch.Generator().manual_seed(0)
    images = (torch.rand(48, 8, 8, 3, generator=gen) * 255).to(torch.uint8)
    captions = [f"item {i % 5}" for i in range(48)]

    def towers():
        with seeded_init(0, "toy-stream"):
            return (nn.Sequential(nn.Flatten(), nn.Linear(192, 32)),
                    TextTransformer(WordTokenizer(captions, context=6), width=16, depth=1, heads=2, embed_dim=32))

    image, text = towers()
    stored = train_clip(image, text, images, captions, batch=16, lr=1e-2, order=torch.Generator().manual_seed(3))
    perm = torch.randperm(48, generator=torch.Generator().manual_seed(3))  # the order train_clip draws
    batches = ((images[perm[s:s + 16]], [captions[i] for i in perm[s:s + 16].tolist()]) for s in range(0, 48, 16))
    image2, text2 = towers()
    streamed = train_clip_stream(image2, text2, batches, steps=3, lr=1e-2)
    assert streamed == stored
    assert all(torch.equal(a, b) for a, b in zip(image.parameters(), image2.parameters()))
    with pytest.raises(ValueError, match="ran out"):
        train_clip_stream(*towers(), iter([(images[:4], captions[:4])]), steps=2, lr=1e-3)
    with pytest.raises(ValueError, match="pair up"):
        train_clip_stream(*towers(), iter([(images[:4], captions[:3])]), steps=1, lr=1e-3)
    with pytest.raises(ValueError, match="steps"):
        train_clip_stream(*towers(), iter([]), steps=0, lr=1e-3)
