"""cvkit.papers.videollm_online: tokenizer, data engine, the v1 sequence layout and its labels, the cached decoder,
the streaming loss, the official TimeDiff/Fluency arithmetic, free-running inference and matching, the pairing of
methods, and clear errors for bad input."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cvkit.core.backbones import load_mobilenet_v2
from cvkit.core.claims import seeded_init
from cvkit.core.sprites import SpriteBank
from cvkit.papers.videollm_online import (ASSISTANT, EOS, NO_ANSWER, PINS, RESPONSE, SILENT, SPEAK, SPECS, SYS,
                                          Dialogue, LiveConfig, LiveLM, StreamResult, TrainConfig, build_tokenizer,
                                          collate, cut_windows, detection, dialogue_sequence, encode_videos,
                                          frame_features, make_videos, match_events, mean_gap, reference_timing,
                                          remind_query, role_weights, run_stream, speaks, stream_dialogue, streaming_loss,
                                          teacher_forced, train_live, train_methods, turn_scores, video_seed,
                                          words_of)

NARRATION = ((2, "The red star jumps."), (7, "The blue fish grows."), (11, "The red star moves left."))
TOK = build_tokenizer([s for _, s in NARRATION])
DIALOGUE = Dialogue(0, 0, 14, 3, "narrate the video in real time .", ((7, "The blue fish grows."),
                                                                       (11, "The red star moves left.")))


def tiny_model(tpf: int = 5, seed: int = 0) -> LiveLM:
    with seeded_init(seed, "init"):
        return LiveLM(len(TOK), 16, d=16, layers=2, heads=2, max_len=256).eval()


def feats(n_videos: int = 1, frames: int = 14, tpf: int = 5) -> torch.Tensor:
    return torch.randn(n_videos, frames, tpf, 16, generator=torch.Generator().manual_seed(1))


def test_tokenizer_round_trip_and_unknown_word():
    for s in ["The red star jumps.", "tell me when the blue fish grows.", "no answer."]:
        assert TOK.decode(TOK.encode(s)) == s.lower()
    assert words_of("The red star jumps.") == ["the", "red", "star", "jumps", "."]
    assert remind_query("The red star jumps.") == "tell me when the red star jumps ."
    with pytest.raises(ValueError, match="unknown word 'purple'"):
        TOK.encode("the purple star jumps.")


def test_stream_dialogue_keeps_later_events_and_checks_times():
    rng = np.random.default_rng(0)
    for _ in range(20):
        d = stream_dialogue(NARRATION, video=0, start=0, n_frames=14, video_frames=14, rng=rng, remind_prob=0.5)
        assert all(t > d.query_frame for t, _ in d.targets)
        if d.task == "remind":
            assert len(d.targets) == 1 and d.query == remind_query(d.targets[0][1])
        else:
            assert [s for _, s in d.targets] == [s for t, s in NARRATION if t > d.query_frame]
    with pytest.raises(ValueError, match="outside the clip"):
        stream_dialogue(((20, "The red star jumps."),), video=0, start=0, n_frames=14, video_frames=14, rng=rng)
    with pytest.raises(ValueError, match="after the last frame"):
        Dialogue(0, 0, 14, 13, "narrate the video in real time .", ())
    repeat = ((2, "The red star jumps."), (5, "The blue fish grows."), (9, "The red star jumps."))
    for seed in range(40):  # a reminder names the first occurrence after the query: never the repeat of an earlier one
        d = stream_dialogue(repeat, video=0, start=0, n_frames=14, video_frames=14, rng=np.random.default_rng(seed),
                            remind_prob=1.0)
        later = [(t, s) for t, s in repeat if t > d.query_frame]
        assert d.targets[0] == next(e for e in later if e[1] == d.targets[0][1])
    windows = cut_windows([NARRATION], n_windows=5, window=8, video_frames=14, seed=3)
    assert windows == cut_windows([NARRATION], n_windows=5, window=8, video_frames=14, seed=3)
    assert all(0 <= w.start <= 6 and w.n_frames == 8 for w in windows)


def test_live_layout_labels():
    s = dialogue_sequence(DIALOGUE, TOK, tokens_per_frame=5)
    assert EOS not in s.word  # <eos> is a target, never an input
    assert (s.role == SPEAK).sum() == 2 and (s.role == SILENT).sum() == 14 - 2
    assert set(s.target[s.role == SPEAK]) == {ASSISTANT}
    assert set(s.target[s.role == SILENT]) == {EOS}
    assert (s.frame >= 0).sum() == 14 * 5
    decisions = s.decision[s.decision >= 0]
    assert list(decisions) == list(range(4, 14))  # one decision per frame after the query
    ends = np.flatnonzero(s.turn == 0)
    assert s.target[ends[-1]] == EOS and s.word[ends[0]] == ASSISTANT  # a turn closes with an <eos> target


def test_per_frame_layout_adds_one_turn_per_silent_frame():
    live = dialogue_sequence(DIALOGUE, TOK, tokens_per_frame=1)
    per_frame = dialogue_sequence(DIALOGUE, TOK, tokens_per_frame=1, layout="per-frame")
    silent = 14 - 1 - DIALOGUE.query_frame - len(DIALOGUE.targets)
    assert len(per_frame) - len(live) == silent * (1 + len(TOK.encode(NO_ANSWER)))
    assert list(per_frame.decision[per_frame.decision >= 0]) == list(range(4, 14))
    with pytest.raises(ValueError, match="layout"):
        dialogue_sequence(DIALOGUE, TOK, tokens_per_frame=1, layout="offline")


def test_role_weights_and_loss_by_hand():
    role = torch.tensor([0, RESPONSE, SPEAK, SILENT, SILENT])
    assert role_weights(role, w=0.5).tolist() == [0, 1, 1, 0.5, 0.5]
    assert role_weights(role, w=1, layout="per-frame").tolist() == [0, 1, 1, 0, 0]
    with pytest.raises(ValueError, match="w must be"):
        role_weights(role, w=-1)
    s = dialogue_sequence(DIALOGUE, TOK, tokens_per_frame=5)
    b = collate([s], feats())
    logits = tiny_model()(tiny_model().embed_inputs(b.word, b.feat, b.is_frame))[0]
    ce = F.cross_entropy(logits[0], b.target[0].clamp(min=0), reduction="none")
    lm = ce[(b.role[0] == RESPONSE) | (b.role[0] == SPEAK)]
    sil = ce[b.role[0] == SILENT]
    assert torch.isclose(streaming_loss(logits, b, w=0.0), lm.mean())
    assert torch.isclose(streaming_loss(logits, b, w=2.0), (lm.sum() + 2 * sil.sum()) / (len(lm) + len(sil)))


def test_cache_matches_full_forward_and_future_never_leaks():
    model = tiny_model()
    s = dialogue_sequence(DIALOGUE, TOK, tokens_per_frame=5)
    f = feats()
    b = collate([s], f)
    with torch.no_grad():
        x = model.embed_inputs(b.word, b.feat, b.is_frame)
        full, _ = model(x)
        cache, parts = None, []
        for i in range(0, x.shape[1], 5):
            out, cache = model(x[:, i:i + 5], cache)
            parts.append(out)
        assert torch.allclose(torch.cat(parts, 1), full, atol=1e-5)
        g = f.clone()
        g[0, 12] += 3.0
        first = int(np.flatnonzero(s.frame == 12)[0])
        moved = model(model.embed_inputs(b.word, collate([s], g).feat, b.is_frame))[0]
        assert torch.equal(moved[:, :first], full[:, :first]) and not torch.equal(moved, full)
    with pytest.raises(ValueError, match="positions"):
        model(torch.zeros(1, 300, 16))


def test_turn_scores_hand_cases():
    speak = {t: t == 6 for t in range(3, 12)}
    assert turn_scores(speak, [6], 2, 12, [3], [3]) == ([0], [1.0])
    assert turn_scores(speak, [6], 2, 12, [1], [3]) == ([0], [5 / 7])
    early = {t: t >= 4 for t in range(3, 12)}
    assert turn_scores(early, [6], 2, 12, [3], [3]) == ([2], [2 / 7])
    late = {t: t == 8 for t in range(3, 12)}
    assert turn_scores(late, [6], 2, 12, [3], [3]) == ([-2], [3 / 7])
    never = {t: False for t in range(3, 12)}
    assert turn_scores(never, [6], 2, 12, [3], [3])[0] == [-3]  # searched min(F − 1, 5) = 3 frames


def test_late_search_horizon_is_the_official_one():
    # The official code: a middle turn silent up to its due frame searches min(next turn's frames, F − 1) later
    # frames, the next turn's due frame included. Query after frame 1, turns due at 6 and 8: turn 0 has F = 5 stream
    # targets (frames 2..6) and the next turn holds frames 7 and 8, so 2 frames are searched and speaking first at
    # frame 8 (the second of them) counts −2, as in the official count (the old one-short horizon gave −1).
    at_next_due = {t: t == 8 for t in range(2, 12)}
    assert turn_scores(at_next_due, [6, 8], 1, 12, [3, 3], [3, 3]) == ([-2, 0], [4 / 8, 1.0])
    never = {t: False for t in range(2, 12)}
    # turn 0 searched 2 frames; the last turn (frames 7..8, F = 2) searches min(F − 1, 3 frames left) = 1 (our rule)
    assert turn_scores(never, [6, 8], 1, 12, [3, 3], [3, 3])[0] == [-2, -1]
    # F − 1 still caps a short turn: query 1, due 3 then 10 → F = 2, one frame searched though 7 follow
    assert turn_scores({t: t == 5 for t in range(2, 12)}, [3, 10], 1, 12, [3, 3], [3, 3])[0][0] == -1


def test_reference_timing_by_hand():
    # DIALOGUE: query after frame 3, turns due at 7 (5 words + <eos>) and 11 (6 words + <eos>) in 14 frames, F = 4 each
    oracle = reference_timing([DIALOGUE], TOK, "oracle")
    assert oracle == {"TimeDiff": 0.0, "Fluency": 100.0}  # on time with every word right: Fluency is exactly 100 %
    never = reference_timing([DIALOGUE], TOK, "never speak")
    # turn 0 searches min(3, 4 frames of the next turn) = 3 → −3; the last turn min(3, 2 frames left) = 2 → −2
    assert never["TimeDiff"] == pytest.approx((3 + 2) / 2 / 2)
    assert never["Fluency"] == pytest.approx(100 * (3 / 10 + 3 / 11) / 2)
    always = reference_timing([DIALOGUE], TOK, "always speak")  # speaks at the first target frame: 3 frames early
    assert always["TimeDiff"] == pytest.approx(1.5)
    assert always["Fluency"] == pytest.approx(100 * (1 / 10 + 1 / 11) / 2)
    with pytest.raises(ValueError, match="policy"):
        reference_timing([DIALOGUE], TOK, "sometimes")
    with pytest.raises(ValueError, match="dialogues"):
        reference_timing([], TOK, "oracle")


def test_matching_counts_one_hit_and_one_false_alarm():
    assert match_events([5, 6], [6], tol=1) == [(1, 0)]
    assert len(match_events([5, 6, 14], [6, 12], tol=1)) == 1
    assert match_events([4, 8], [5, 7], tol=1) == [(0, 0), (1, 1)]
    d = Dialogue(0, 0, 14, 1, "narrate the video in real time .", ((6, "The red star jumps."),))
    res = StreamResult([(5, "the red star jumps."), (6, "the red star jumps.")], np.zeros(14))
    m = detection([res], [d])
    assert (m["precision"], m["recall"], m["exact"]) == (0.5, 1.0, 1.0)
    with pytest.raises(ValueError, match="tol"):
        match_events([1], [1], tol=-1)


def test_theta_and_policies():
    with pytest.raises(ValueError, match="theta"):
        speaks(torch.tensor([0.3]), torch.tensor([True]), 1.5)
    assert speaks(torch.tensor([0.3, 0.9]), torch.tensor([True, True]), 0.5).tolist() == [True, False]
    model = tiny_model()
    f = feats()[0]
    every = run_stream(model, f, TOK, query_frame=3, query=DIALOGUE.query, policy="every", every=4, max_words=3)
    assert [t for t, _ in every.responses] == [7, 11]
    clip = run_stream(model, f, TOK, query_frame=3, query=DIALOGUE.query, policy="per-clip", max_words=3)
    assert [t for t, _ in clip.responses] == [13]
    never = run_stream(model, f, TOK, query_frame=3, query=DIALOGUE.query, theta=0.0, max_words=3)
    always = run_stream(model, f, TOK, query_frame=3, query=DIALOGUE.query, theta=1.0, max_words=3)
    assert len(always.responses) == 10 and len(never.responses) <= 10
    assert np.isnan(always.p_silent[:4]).all() and np.isfinite(always.p_silent[4:]).all()
    with pytest.raises(ValueError, match="theta"):
        run_stream(model, f, TOK, query_frame=3, query=DIALOGUE.query, theta=-0.1)
    with pytest.raises(ValueError, match="query"):
        run_stream(model, f, TOK, query_frame=13, query=DIALOGUE.query)


def test_teacher_forced_metrics_are_finite_and_per_turn():
    seqs = [dialogue_sequence(DIALOGUE, TOK, tokens_per_frame=5)]
    for layout in ("live", "per-frame"):
        s = [dialogue_sequence(DIALOGUE, TOK, tokens_per_frame=5, layout=layout)]
        m = teacher_forced(tiny_model(), s, feats(), TOK, layout=layout)
        assert len(m["ppl"]) == 2 and np.isfinite(m["ppl"]).all() and (m["fluency"] <= 1).all()
        assert len(m["correctness"]) == 2 and ((0 <= m["correctness"]) & (m["correctness"] <= 1)).all()
    assert len(seqs[0]) > 0


class _TargetModel:
    "A stand-in LM whose argmax is each position's target, except at the positions listed in `wrong`."

    def __init__(self, seq, vocab: int, wrong: tuple[int, ...] = ()):
        self.seq, self.vocab, self.wrong = seq, vocab, wrong

    def embed_inputs(self, word, feat, is_frame):
        return word

    def parameters(self):  # teacher_forced reads the model's device from its first parameter
        return iter([torch.zeros(1)])

    def __call__(self, x):
        logits = torch.zeros(1, x.shape[1], self.vocab)
        tgt = torch.from_numpy(self.seq.target).clamp(min=0)
        logits[0, torch.arange(len(tgt)), tgt] = 5.0
        for p in self.wrong:
            logits[0, p, (tgt[p] + 1) % self.vocab] = 10.0
        return (logits,)


def test_lm_correctness_counts_right_tokens_before_the_first_mistake():
    s = dialogue_sequence(DIALOGUE, TOK, tokens_per_frame=5)
    perfect = teacher_forced(_TargetModel(s, len(TOK)), [s], feats(), TOK, layout="live")
    assert np.allclose(perfect["correctness"], 1.0)
    first_turn = np.flatnonzero(s.turn == 0)
    assert len(first_turn) >= 3
    # a mistake at the turn's second token: one right token before it, whatever follows
    m = teacher_forced(_TargetModel(s, len(TOK), wrong=(int(first_turn[1]),)), [s], feats(), TOK, layout="live")
    assert m["correctness"][0] == pytest.approx(1 / len(first_turn)) and m["correctness"][1] == 1.0


def test_device_argument_keeps_the_cpu_path_bit_identical():
    seqs = [dialogue_sequence(DIALOGUE, TOK, tokens_per_frame=5)] * 2
    cfg = TrainConfig(steps=2, batch=2, d=16, layers=1, heads=2, max_len=256)
    m_default, a = train_live(seqs, feats(), len(TOK), cfg, seed=3, progress=False)
    m_cpu, b = train_live(seqs, feats(), len(TOK), cfg, seed=3, progress=False, device="cpu")
    assert a == b and all(torch.equal(p, q) for p, q in zip(m_default.parameters(), m_cpu.parameters()))
    batch = collate(seqs, feats())
    moved = batch.to("cpu")
    assert all(torch.equal(getattr(batch, f), getattr(moved, f)) for f in ("word", "feat", "is_frame", "target", "turn"))


def test_training_pairs_methods_and_never_touches_the_encoder():
    seqs = [dialogue_sequence(DIALOGUE, TOK, tokens_per_frame=5)] * 4
    cfg = TrainConfig(steps=3, batch=2, d=16, layers=1, heads=2, max_len=256)
    _, a = train_live(seqs, feats(), len(TOK), cfg, seed=5, w=1.0, progress=False)
    _, b = train_live(seqs, feats(), len(TOK), cfg, seed=5, w=1.0, progress=False)
    _, c = train_live(seqs, feats(), len(TOK), cfg, seed=5, w=0.0, progress=False)
    assert a == b and a != c  # the identity treatment reproduces the baseline exactly
    backbone = load_mobilenet_v2()
    cfgv = LiveConfig(n_videos=2, video_frames=8, n_windows=4, window=8, n_test_videos=1, n_test_windows=1, n_free=1,
                      events=(1, 2), replicates=1, train=cfg)
    bank = SpriteBank.procedural(seed=0, size=16)
    frames, narr = make_videos(cfgv, 0, "train", bank)
    f = encode_videos(backbone, frames, cfgv, progress=False)
    assert f.shape == (2, 8, 5, 1280) and not f.requires_grad
    assert frame_features(f, 1).shape == (2, 8, 1, 1280) and torch.equal(frame_features(f, 1)[..., 0, :], f[..., -1, :])
    tok = build_tokenizer([s for n in narr for _, s in n])
    wins = cut_windows(narr, n_windows=4, window=8, video_frames=8, seed=0)
    train_methods(wins, f, tok, cfgv, seed=0, progress=False)
    assert all(p.grad is None for p in backbone.parameters())
    assert mean_gap([((1, "a"), (5, "b"), (7, "c"))]) == 3
    assert video_seed(0, 3, "train") != video_seed(0, 3, "test") and video_seed(1, 0, "train") != video_seed(0, 0, "train")


def test_specs_are_pinned_at_every_scale():
    assert {s.id for s in SPECS} == set(PINS)
    assert sum(s.central for s in SPECS) == 4  # vs interleaved (2) and vs the never-speak reference (2)
    for s in SPECS:
        assert set(s.rules) == {"smoke", "laptop", "gpu"}


def test_bad_inputs_raise_clear_errors():
    model, f = tiny_model(), feats()[0]
    for bad in (0, -3, 2.5):
        with pytest.raises(ValueError, match="every"):
            run_stream(model, f, TOK, query_frame=3, query=DIALOGUE.query, policy="every", every=bad)
    with pytest.raises(ValueError, match="max_words"):
        run_stream(model, f, TOK, query_frame=3, query=DIALOGUE.query, max_words=0)
    nan_frames = f.clone()
    nan_frames[5, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        run_stream(model, nan_frames, TOK, query_frame=3, query=DIALOGUE.query)
    with pytest.raises(ValueError, match="remind_prob"):
        stream_dialogue(NARRATION, video=0, start=0, n_frames=14, video_frames=14, rng=np.random.default_rng(0),
                        remind_prob=5)
    with pytest.raises(ValueError, match="remind_prob"):
        cut_windows([NARRATION], n_windows=2, window=8, video_frames=14, seed=0, remind_prob=-0.1)
    with pytest.raises(ValueError, match="at least one Sequence"):
        collate([], feats())
    res = StreamResult([(7, "the blue fish grows.")], np.zeros(14))
    with pytest.raises(ValueError, match="one StreamResult per dialogue"):
        detection([res], [DIALOGUE, DIALOGUE])


def test_more_bad_inputs_name_their_argument():
    with pytest.raises(ValueError, match="targets"):
        Dialogue(0, 0, 14, 3, DIALOGUE.query, ((11, "The red star moves left."), (7, "The blue fish grows.")))
    with pytest.raises(ValueError, match="targets"):
        Dialogue(0, 0, 14, 3, DIALOGUE.query, ((7, "The blue fish grows."), (7, "The red star jumps.")))
    for ids in ([-1], [len(TOK)]):
        with pytest.raises(ValueError, match="ids"):
            TOK.decode(ids)
    assert TOK.decode(TOK.encode("the red star jumps.")) == "the red star jumps."
    for kw, name in [({"theta": 1.5}, "theta"), ({"theta": -0.1}, "theta"), ({"remind_prob": 2.0}, "remind_prob"),
                     ({"n_free": 0}, "n_free"), ({"ablation": (1.0,)}, "ablation"), ({"ablation": (-1.0,)}, "ablation"),
                     ({"ablation": (0.5, 0.5)}, "ablation"), ({"ablation": (float("nan"),)}, "ablation"),
                     ({"ablation": (0.5,), "ablation_replicates": 3}, "ablation_replicates")]:
        with pytest.raises(ValueError, match=name):
            LiveConfig(**kw)
    LiveConfig(ablation=(0.5, 2.0), ablation_replicates=2)  # replicates = 2 by default: fine
    with pytest.raises(ValueError, match="max_len"):
        LiveLM(len(TOK), 16, d=16, max_len=0)
    with pytest.raises(ValueError, match="narrations"):
        mean_gap([])
    assert mean_gap([((1, "a"),)]) == 4 and mean_gap([((1, "a"), (4, "b"), (9, "c"))]) == 4
    with pytest.raises(ValueError, match="seqs"):
        train_live([], feats(), len(TOK), TrainConfig(steps=1, batch=1, d=16), seed=0)


def test_timing_error_is_nan_not_a_sentinel_when_nothing_matched():
    far = StreamResult([(4, "the blue fish grows.")], np.zeros(14))  # 7 frames before its event at 11, 3 before 7
    silent = StreamResult([], np.zeros(14))
    assert np.isnan(detection([silent], [DIALOGUE])["timing_error"])
    assert detection([far], [DIALOGUE])["timing_error"] == 3.0  # matched within ±3 frames of the event at 7
