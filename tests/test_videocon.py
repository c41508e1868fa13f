"""cvkit.papers.videocon: contrast pairs, held-out wording, template explanations, the entailment score, the
Con/Rand pairing, the official retrieval metrics, SSv2-lite and ATP-lite construction, and clear errors."""
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from cvkit.core.chapters import CvkitError
from cvkit.core.claims import seeded_init
from cvkit.core.sprites import Event, Script, SpriteBank, clip_relations, holds_in_script, make_video
from cvkit.papers.videocon import (HELD_OUT_PAIRS, PINS, SPECS, TRAIN_TYPES, TYPES, ConLite, Features, Pair,
                                   TrainConfig, atp_choices, auc, average_precision, cache_text, check_grammar,
                                   clip_script, contrast_pair, contrasts_of, entail, entailment_score,
                                   explanation_targets, folds, is_stamp_clip, make_clips, nle_slots, paraphrase, parse_nle,
                                   recall_at, render_nle, score, ssv2_lite, train_entailment, word_token_index)

BANK = SpriteBank.procedural(seed=0, size=12)


def two_event_clip():
    s = Script((BANK.get("red circle"), BANK.get("blue square")), ((16.0, 20.0), (46.0, 44.0)),
               (Event("move", 0, 1, 4, "right"), Event("grow", 1, 5, 8)), n_frames=8, size=64)
    return make_video(s)


def test_every_contrast_is_false_and_carries_its_reason():
    clip = two_event_clip()
    pairs = contrasts_of(clip, seed=0)
    assert {p.type for p in pairs} == set(TYPES)
    for p in pairs:
        assert p.contrast != p.caption and p.reason
    rel = next(p for p in pairs if p.type == "relation")
    assert any(rel.caption.startswith(f.subject.text().capitalize()) for f in clip_relations(clip))
    order = next(p for p in pairs if p.type == "order")
    assert order.contrast.endswith("then a red circle moves right.")


def test_scripts_keep_or_require_the_held_out_pairs():
    for seed in range(5):
        s = clip_script(BANK, seed, n_frames=8, size=64)
        assert not ({(s.sprites[e.obj].noun, e.kind) for e in s.events} & HELD_OUT_PAIRS)
        assert all(e.start >= 1 for e in s.events) and 1 <= len(s.events) <= 2
        u = clip_script(BANK, seed, n_frames=8, size=64, unseen=True)
        assert {(u.sprites[e.obj].noun, e.kind) for e in u.events} & HELD_OUT_PAIRS


def test_paraphrase_changes_words_not_meaning():
    c = "Two objects in all. A red circle moves left, then a blue square grows."
    assert paraphrase(c) == "Two things altogether. A red circle drifts leftward, and after that a blue square becomes larger."
    with pytest.raises(ValueError, match="non-empty"):
        paraphrase(" ")


def test_nle_slots_by_hand_and_round_trip():
    assert nle_slots("Two objects in all.", "Three objects in all.") == ("two", "three", 0)
    assert nle_slots("A red circle grows.", "A red circle grows. There is a blue star.") == ("nothing", "there", 4)
    assert nle_slots("A red circle grows.", "A red circle jumps.") == ("grows", "jumps", 3)
    for p in contrasts_of(two_event_clip(), seed=1):
        shows, said, _ = nle_slots(p.caption, p.contrast)
        assert parse_nle(render_nle(shows, said)) == (shows, said)  # each NLE parses back into its slots
    with pytest.raises(ValueError, match="identical"):
        nle_slots("A red circle grows.", "a red circle grows")
    with pytest.raises(ValueError, match="the video shows"):
        parse_nle("the circle is red")
    with pytest.raises(ValueError, match="single words"):
        render_nle("red circle", "blue")


def test_word_token_index_points_at_the_word():
    assert word_token_index("A red circle grows.", 0) == 1
    assert word_token_index("A red circle grows.", 2) == 3  # [CLS] a red circle
    assert word_token_index("Two objects in all. A red circle", 5) == 7  # the full stop is its own token
    with pytest.raises(ValueError, match="outside"):
        word_token_index("A red circle", 3)


def test_entailment_score_is_the_yes_probability():
    logits = torch.randn(6, 2, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(entailment_score(logits), logits.softmax(-1)[:, 0], atol=1e-6)
    with pytest.raises(ValueError, match="Yes/No"):
        entailment_score(torch.zeros(3, 3))


@pytest.fixture(scope="module")
def tiny():
    clips = make_clips(6, 7, n_frames=8, size=64, progress=False)
    tokens = torch.randn(6, 8, 4, 96, generator=torch.Generator().manual_seed(0))
    strings = clips.captions + [p.contrast for p in clips.pairs] + [p.caption for p in clips.pairs]
    text, mask, rows = cache_text(strings)
    words = {"<unk>": 0, "nothing": 1} | {w: i + 2 for i, w in enumerate(sorted({w.strip(".,").lower() for s in strings for w in s.split()}))}
    return clips, Features(tokens, text, mask, rows), words


def test_padding_leaves_scores_unchanged_and_frame_order_matters(tiny):
    clips, feats, words = tiny
    with seeded_init(0, "test"):
        model = ConLite(96, 32, 8, 4, len(words)).eval()
    base = score(model, feats.tokens, feats, clips.captions)
    wide = Features(feats.tokens, torch.cat([feats.text, torch.zeros(len(feats.text), 7, 384)], 1),
                    torch.cat([feats.mask, torch.zeros(len(feats.mask), 7, dtype=torch.bool)], 1), feats.rows)
    assert np.allclose(score(model, feats.tokens, wide, clips.captions), base, atol=1e-5)
    shuffled = score(model, feats.tokens[:, torch.tensor([3, 1, 7, 0, 2, 6, 5, 4])], feats, clips.captions)
    assert not np.allclose(shuffled, base, atol=1e-4)
    with pytest.raises(ValueError, match="one text per clip"):
        score(model, feats.tokens, feats, clips.captions[:2])
    with pytest.raises(KeyError, match="not cached"):
        feats.lookup(["never seen"])


def test_identity_treatment_trains_rand_exactly_and_no_gradient_reaches_the_backbones(tiny):
    clips, feats, words = tiny
    rows = np.arange(6)
    pairs = {}
    for p in clips.pairs:
        if p.type in TRAIN_TYPES:
            pairs.setdefault(p.clip, []).append(p)
    targets = {p: explanation_targets(p, words) for ps in pairs.values() for p in ps}
    cfg = TrainConfig(steps=4, batch=4, d=32)
    run = lambda q: train_entailment(feats, rows, clips.captions, pairs, targets, n_words=len(words), cfg=cfg, seed=3,
                                     contrast_fraction=q, progress=False)[0]
    rand, identity, con = run(0.0), run(1e-12), run(1.0)
    for a, b in zip(rand.parameters(), identity.parameters()):
        assert torch.equal(a, b)
    assert any(not torch.equal(a, b) for a, b in zip(rand.parameters(), con.parameters()))
    assert not feats.tokens.requires_grad and feats.tokens.grad is None and feats.text.grad is None
    with pytest.raises(ValueError, match="contrast_fraction"):
        run(1.5)


def test_metrics_by_hand_and_against_sklearn():
    assert math.isclose(average_precision(np.array([5, 4, 3, 2, 1.0]), np.array([1, 0, 1, 0, 0])), 5 / 6)
    assert recall_at(np.array([1, 3, 2.0]), np.array([1, 0, 0]), 1) == 0.0
    assert recall_at(np.array([1, 3, 2.0]), np.array([1, 0, 0]), 3) == 1.0
    r = np.random.default_rng(0)
    p, n = r.random(13), r.random(17)
    assert math.isclose(auc(p, n), roc_auc_score(np.r_[np.ones(13), np.zeros(17)], np.r_[p, n]))
    parts = folds(23, 5, seed=0)
    assert sorted(np.concatenate(parts).tolist()) == list(range(23)) and len(parts) == 5
    with pytest.raises(ValueError):
        auc(np.array([]), n)
    with pytest.raises(ValueError):
        average_precision(np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="folds"):
        folds(3, 5, 0)


def test_ssv2_lite_queries_come_in_reversed_pairs():
    frames, texts, owner = ssv2_lite(4, 2, seed=0, n_frames=8, size=64)
    assert frames.shape == (8, 8, 3, 64, 64) and len(texts) == 4 and np.bincount(owner).tolist() == [2, 2, 2, 2]
    norm = lambda t: sorted(w.strip(".,").lower() for w in t.split())
    assert norm(texts[0]) == norm(texts[1]) and texts[0] != texts[1]  # the same events in the other order
    with pytest.raises(ValueError, match="even"):
        ssv2_lite(3, 2, seed=0, n_frames=8, size=64)


def test_atp_choices_put_the_true_caption_first():
    clip = two_event_clip()
    pairs = [Pair(0, p.caption, p.contrast, p.type, p.reason) for p in contrasts_of(clip, 0)]
    choices = atp_choices(pairs, 1)
    assert len(choices[0]) == 5 and choices[0][0] == clip.caption and len(set(choices[0])) == 5


def test_bad_input_gets_clear_errors(tiny):
    clips, feats, words = tiny
    one = make_video(Script((BANK.get("red circle"),), ((30.0, 30.0),), (Event("jump", 0, 2, 6),), n_frames=8))
    with pytest.raises(CvkitError, match="two events"):
        contrast_pair(one, "order")
    with pytest.raises(CvkitError, match="two objects"):
        contrast_pair(one, "relation")
    with pytest.raises(ValueError, match="unknown contrast type"):
        contrast_pair(one, "colour")
    assert contrast_pair(two_event_clip(), "order").type == "order"
    with pytest.raises(ValueError, match="empty"):
        check_grammar("  ", words)
    with pytest.raises(ValueError, match="outside the grammar"):
        check_grammar("A purple elephant dances.", words)
    with seeded_init(0, "test"):
        model = ConLite(96, 32, 8, 4, len(words)).eval()
    assert entail(model, feats.tokens[0], clips.captions[:2], words=words).shape == (2,)
    with pytest.raises(ValueError, match="one clip"):
        entail(model, feats.tokens, clips.captions[:1], words=words)
    with pytest.raises(ValueError, match="empty"):
        entail(model, feats.tokens[0], [""], any_text=True)
    with pytest.raises(ValueError, match="tokens must be"):
        model(torch.zeros(2, 9, 4, 96), feats.text[:2], feats.mask[:2])
    with pytest.raises(ValueError, match="single-frame"):
        entail(model, feats.tokens[0, :1], clips.captions[:1], words=words)


def test_claims_are_declared_with_pins_for_every_scale():
    assert [s.id for s in SPECS] == list(PINS)
    assert sum(s.central for s in SPECS) == 1
    for s in SPECS:
        assert set(s.rules) == {"smoke", "laptop", "gpu"}
    assert SPECS[0].rule("laptop").threshold == 0.10 and SPECS[0].rule("smoke").threshold == 0.0


def test_clip_seeds_of_splits_are_disjoint_at_every_scale():
    """B2: clip seeds of different split seeds never collide, even with more than 10⁴ clips (gpu has 40,000 training
    clips); the first 10⁴ seeds are the old split_seed·10⁴ + i, so smoke and laptop data are unchanged."""
    from cvkit.papers.videocon import _fold_auc, assert_disjoint_splits, clip_seed
    assert [clip_seed(12, i) for i in (0, 1, 9_999)] == [120_000, 120_001, 129_999]  # old formula below 10⁴
    train = {clip_seed(1, i) for i in range(40_000)}
    assert len(train) == 40_000 and not train & {clip_seed(2, i) for i in range(2_000)}
    assert not train & {clip_seed(3, i) for i in range(2_000)}
    assert_disjoint_splits({"train": (40_000, 1), "test": (2_000, 2), "unseen": (2_000, 3)})
    with pytest.raises(ValueError, match="clip index"):
        clip_seed(1, 10**7)
    with pytest.raises(ValueError, match="split seed"):
        clip_seed(-1, 0)
    # M6: an empty fold is a clear error naming the group, not a bare ValueError from auc
    with pytest.raises(CvkitError, match="'order'"):
        _fold_auc(np.ones(2), np.zeros(2), np.array([0, 0]), np.array([0, 0]), [np.array([0]), np.array([1])],
                  "order")


def test_bad_inputs_raise_clear_errors_and_atp_ties_get_no_credit_bias():
    from cvkit.papers.videocon import VideoConConfig, atp_credit
    with pytest.raises(ValueError, match="finite"):
        entailment_score(torch.tensor([[float("nan"), 0.0]]))
    with pytest.raises(ValueError, match="finite"):
        average_precision(np.array([np.nan, 1.0, 0.0]), np.array([1, 0, 1]))
    with pytest.raises(ValueError, match="k ≥ 1"):
        recall_at(np.array([1.0, 2.0]), np.array([1, 0]), 0)
    with pytest.raises(ValueError, match="relevant"):
        recall_at(np.array([1.0, 2.0]), np.array([0, 0]), 1)
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0)
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=-1)
    with pytest.raises(ValueError, match="folds"):
        VideoConConfig(folds=1)
    with pytest.raises(ValueError, match="n_frames"):
        VideoConConfig(n_frames=1)
    with pytest.raises(ValueError, match="n_options"):
        atp_choices([], 3, n_options=1)
    assert atp_credit(np.array([0.9, 0.1, 0.2])) == 1.0 and atp_credit(np.array([0.1, 0.9])) == 0.0
    assert atp_credit(np.array([0.5, 0.5, 0.5, 0.1])) == pytest.approx(1 / 3)  # a tie is 1/m, not a win


def test_folds_are_stratified_so_every_fold_holds_every_group():
    """Issue 23 item 4: every fold gets at least one clip of every group it is used for; the folds partition the
    clips; a group on fewer clips than folds is a clear error naming it."""
    from cvkit.papers.videocon import folds
    rng = np.random.default_rng(0)
    for seed in range(20):
        groups = {"order": rng.choice(25, 4, replace=False), "rare": rng.choice(25, 3, replace=False),
                  "all": np.repeat(np.arange(25), 2)}
        parts = folds(25, 3, seed, groups)
        assert sorted(np.concatenate(parts).tolist()) == list(range(25))
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
        for clips in groups.values():
            assert all(np.isin(f, clips).any() for f in parts)
    assert [f.tolist() for f in folds(10, 2, 1, {"g": [1, 2]})] == [f.tolist() for f in folds(10, 2, 1, {"g": [2, 1]})]
    assert any(1 in f and 2 not in f for f in folds(10, 2, 1, {"g": [1, 2]}))  # the two clips land in different folds
    with pytest.raises(CvkitError, match="'order, visible throughout'"):
        folds(25, 5, 0, {"order, visible throughout": np.array([1, 2, 3])})
    with pytest.raises(ValueError, match="outside"):
        folds(5, 2, 0, {"g": np.array([0, 7])})


def test_order_flips_are_tagged_visible_only_between_events_in_view_throughout():
    from cvkit.papers.videocon import events_visible_throughout
    clip = two_event_clip()  # move, then grow: both objects in view in every frame
    order = [p for p in contrasts_of(clip, seed=0) if p.type == "order"]
    assert order and all(p.visible for p in order) and events_visible_throughout(clip.script)
    assert not any(p.visible for p in contrasts_of(clip, seed=0) if p.type != "order")
    s = Script((BANK.get("red circle"), BANK.get("blue square")), ((16.0, 20.0), (46.0, 44.0)),
               (Event("move", 0, 1, 4, "right"), Event("appear", 1, 5, 6)), n_frames=8, size=64)
    appear = make_video(s)
    assert not events_visible_throughout(appear.script)
    assert [p.visible for p in contrasts_of(appear, seed=0) if p.type == "order"] == [False]


def test_training_pairs_have_disjoint_seeds_across_runs():
    from cvkit.papers.videocon import VideoConConfig, pair_seeds
    cfg = VideoConConfig(pairs=5)
    assert len(set(pair_seeds(cfg, 0))) == 5 and not set(pair_seeds(cfg, 0)) & set(pair_seeds(cfg, 1))
    with pytest.raises(ValueError, match="pairs"):
        VideoConConfig(pairs=1)


def test_filter_drops_the_pairs_one_frame_decides_and_tau_sets_half_of_object_attribute():
    """The temporally-challenging filter by hand: a pair whose middle-frame margin exceeds τ is dropped, the others
    kept; τ is the median margin over object and attribute pairs; τ = +inf keeps every pair; bad inputs are errors."""
    from cvkit.papers.videocon import filter_threshold, keep_pairs
    margin = np.array([0.9, 0.1, 0.2, -0.3, 0.5])
    kinds = np.array(["object", "attribute", "count", "object", "order"])
    tau = filter_threshold(margin, kinds)
    assert tau == pytest.approx(0.1)  # median of 0.9, 0.1, −0.3 (the object and attribute pairs)
    assert keep_pairs(margin, tau).tolist() == [False, True, False, True, False]  # 0.9, 0.2, 0.5 are decided by one frame
    assert keep_pairs(margin, math.inf).all() and not keep_pairs(margin, -math.inf).any()
    assert filter_threshold(margin, kinds, quantile=1.0) == pytest.approx(0.9)
    with pytest.raises(ValueError, match="equal length"):
        filter_threshold(margin, kinds[:3])
    with pytest.raises(ValueError, match="NaN"):
        filter_threshold(np.array([np.nan, 0.1]), np.array(["object", "object"]))
    with pytest.raises(ValueError, match="quantile"):
        filter_threshold(margin, kinds, quantile=1.5)
    with pytest.raises(ValueError, match="no pair"):
        filter_threshold(margin, kinds, types=("relation",))
    with pytest.raises(ValueError, match="NaN"):
        keep_pairs(margin, float("nan"))
    with pytest.raises(ValueError, match="finite"):
        keep_pairs(np.array([np.inf]), 0.0)


def test_filter_with_infinite_tau_reproduces_con_exactly_and_dropping_changes_the_inputs(tiny):
    """Identity: keep = all True gives the unfiltered inputs, and training on them is Con bit for bit; dropping every
    contrast of a clip removes that clip, dropping one pair removes just that pair, and the filtered Con differs."""
    from cvkit.papers.videocon import VideoConData, keep_pairs, training_inputs
    clips, feats, words = tiny
    data = VideoConData({"train": clips}, [], np.zeros(0, dtype=int), feats, {"train": np.arange(6)}, words)
    base = training_inputs(data)
    full = training_inputs(data, keep_pairs(np.zeros(len(clips.pairs)), math.inf))
    assert np.array_equal(base[0], full[0]) and base[1] == full[1] and base[2] == full[2] and base[3] == full[3]
    cfg = TrainConfig(steps=4, batch=4, d=32)
    run = lambda inputs: train_entailment(feats, *inputs, n_words=len(words), cfg=cfg, seed=3, contrast_fraction=1.0,
                                          progress=False)[0]
    con, same = run(base), run(full)
    assert all(torch.equal(a, b) for a, b in zip(con.parameters(), same.parameters()))
    keep = np.array([p.clip != 0 for p in clips.pairs])  # every contrast of clip 0 is easy
    keep[int(np.flatnonzero(keep)[0])] = False  # and one pair of another clip
    dropped = training_inputs(data, keep)
    assert 0 not in dropped[0].tolist() and len(dropped[0]) == 5
    # every kept row keeps its OWN caption (review videocon3 B1: a zip over the shortened row list shifted them)
    assert all(dropped[1][r] == clips.captions[r] for r in dropped[0].tolist()) and dropped[1][0] == ""
    assert sum(map(len, dropped[2].values())) == int(keep.sum())
    assert all(p in [q for q, k in zip(clips.pairs, keep) if k] for ps in dropped[2].values() for p in ps)
    filtered = run(dropped)
    assert any(not torch.equal(a, b) for a, b in zip(con.parameters(), filtered.parameters()))
    with pytest.raises(ValueError, match="keep"):
        training_inputs(data, np.ones(3, dtype=bool))


def test_filter_split_and_seed_are_disjoint_from_training():
    """The filter's model never sees a training clip (split seed 10·SEED + 5, disjoint clip seeds at every size) and
    never shares a training pair's seed; bad filter options are clear errors."""
    from cvkit.papers.videocon import VideoConConfig, assert_disjoint_splits, filter_seed, pair_seeds
    for seed in (0, 1, 7):
        assert_disjoint_splits({"train": (40_000, 10 * seed + 1), "test": (2_000, 10 * seed + 2),
                                "unseen": (500, 10 * seed + 3), "filter": (10_000, 10 * seed + 5)})
        cfg = VideoConConfig(pairs=5)
        assert filter_seed(seed) not in {s for k in range(3) for s in pair_seeds(cfg, k)}
    with pytest.raises(CvkitError, match="share clip seed"):
        assert_disjoint_splits({"train": (10, 1), "filter": (10, 1)})
    with pytest.raises(ValueError, match="n_filter"):
        VideoConConfig(n_filter=0)
    with pytest.raises(ValueError, match="filter_quantile"):
        VideoConConfig(filter_quantile=-0.1)


def test_pair_metrics_score_all_items_and_batch_atp_like_one_clip_at_a_time(tiny):
    """The per-training-pair metrics (review videocon3 B3): AUCs in [0, 1] over all items of each group, and ATP-lite
    scored in one batch equals scoring every clip's options on their own."""
    from cvkit.papers.videocon import (VideoConConfig, VideoConData, atp_choices, atp_credit, pair_metrics,
                                       score_items)
    from cvkit.papers.videocon import paraphrase
    clips, feats, words = tiny
    strings = clips.captions + [p.contrast for p in clips.pairs] + [p.caption for p in clips.pairs]
    feats = Features(feats.tokens, *cache_text(strings + [paraphrase(x) for x in strings]))  # the held-out wording too
    data = VideoConData({"train": clips, "test": clips}, [], np.zeros(0, dtype=int), feats,
                        {"train": np.arange(6), "test": np.arange(6)}, words)
    model = train_entailment(feats, list(range(6)), clips.captions, {}, {}, n_words=len(words), cfg=TrainConfig(steps=2, batch=4, d=32),
                             seed=0, contrast_fraction=0.0, progress=False)[0]
    cfg = VideoConConfig()
    choices = atp_choices(clips.pairs, len(clips.captions), n_options=3)
    assert choices, "the tiny clips must offer ATP questions"
    m = pair_metrics(model, data, cfg, choices)
    assert set(m) == {"held-out phrasing", "held-out types", "reversal", "ATP-lite"}
    one_by_one = np.mean([atp_credit(score_items(model, data, [(c, o, False) for o in opts], cfg.n_frames))
                          for c, opts in choices.items()])
    assert m["ATP-lite"] == pytest.approx(one_by_one, abs=1e-12)
    assert all(0.0 <= v <= 1.0 for v in m.values())


def test_no_gradient_can_reach_mobilenet_or_minilm():
    """The frozen backbones (review videocon3 minor: the older check looked at cached tensors only): tokens from
    `video_tokens` and `embed_tokens` carry no autograd graph, MiniLM's weights are frozen, and a training step on
    MobileNetV2 tokens leaves every MobileNetV2 weight unchanged with no gradient."""
    from cvkit.core.backbones import load_mobilenet_v2, video_tokens
    from cvkit.core.text import embed_tokens, token_encoder
    backbone = load_mobilenet_v2()
    before = [p.detach().clone() for p in backbone.parameters()]
    clip = torch.randint(0, 256, (2, 3, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    tokens = video_tokens(backbone, clip, size=64, layer=13, grid=2, progress=False)
    assert tokens.grad_fn is None and not tokens.requires_grad
    states = embed_tokens(["a red circle moves left."])[0]
    assert states.grad_fn is None and not any(p.requires_grad for p in token_encoder()[1].parameters())
    tokens.requires_grad_(False)
    loss = tokens.sum() * torch.ones(1, requires_grad=True)  # a graph that starts at the tokens
    loss.sum().backward()
    assert all(p.grad is None for p in backbone.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, backbone.parameters()))


def test_atp_choices_put_the_order_flip_first_and_draw_the_rest_from_a_seeded_stream():
    """ATP-lite's distractors (review videocon3 M3): a clip with an order flip always offers it; the other distractors
    come in a seeded random order, so the 'atp' stream of another seed can choose other types; one-event clips have no
    order flip to offer."""
    clip = two_event_clip()
    pairs = [Pair(0, p.caption, p.contrast, p.type, p.reason) for p in contrasts_of(clip, 0)]
    order = next(p.contrast for p in pairs if p.type == "order")
    relation = next(p.contrast for p in pairs if p.type == "relation")
    drawn = [tuple(atp_choices(pairs, 1, seed=s)[0]) for s in range(12)]
    assert all(d[1] == order and relation not in d and len(set(d)) == 5 for d in drawn)
    assert len({frozenset(d[2:]) for d in drawn}) > 1  # the rest depends on the stream
    assert atp_choices(pairs, 1, seed=3) == atp_choices(pairs, 1, seed=3)
    one = make_video(Script((BANK.get("red circle"), BANK.get("blue square")), ((16.0, 20.0), (46.0, 44.0)),
                            (Event("move", 0, 1, 7, "right"),), n_frames=8, size=64))
    single = [Pair(0, p.caption, p.contrast, p.type, p.reason) for p in contrasts_of(one, 0)]
    assert all(p.type != "order" for p in single)
    assert atp_choices(single, 1, n_options=3, seed=0)[0][0] == one.caption


def test_order_ceilings_are_undecided_while_every_arm_is_at_chance():
    """review videocon3 M1: 'Rand ≤ 0.65 on order flips' cannot pass on a test that Con fails too; it passes when Con
    is above chance and the baseline low, and fails when the baseline is above the ceiling."""
    from cvkit.core.claims import NOT_REPRODUCED, REPRODUCED, UNDECIDED, decide
    from cvkit.papers.videocon import ceiling_with_reference
    spec = next(s for s in SPECS if s.id == "order-rand-low")
    chance_like = np.array([0.48, 0.53, 0.50, 0.47, 0.52, 0.51, 0.49, 0.50, 0.54, 0.46])
    learnt = np.array([0.90, 0.88, 0.93, 0.91, 0.87, 0.92, 0.89, 0.90, 0.94, 0.86])
    assert decide(spec, ceiling_with_reference(chance_like, chance_like[::-1], "Rand"), "laptop").verdict == UNDECIDED
    assert decide(spec, ceiling_with_reference(chance_like, learnt, "Rand"), "laptop").verdict == REPRODUCED
    assert decide(spec, ceiling_with_reference(learnt, learnt, "Rand"), "laptop").verdict == NOT_REPRODUCED
    with pytest.raises(ValueError, match="one length"):
        ceiling_with_reference(chance_like, learnt[:3], "Rand")


def test_entail_refuses_free_text_unless_asked():
    """review videocon3 m1: without the vocabulary an out-of-grammar caption is refused, not scored silently;
    any_text=True scores it on purpose, words= checks the grammar."""
    clip = two_event_clip()
    strings = [clip.caption, "A purple elephant dances the tango."]
    words = {"<unk>": 0} | {w.strip(".,").lower(): i + 1 for i, w in enumerate(clip.caption.split())}
    with seeded_init(0, "test"):
        model = ConLite(96, 32, 8, 4, len(words)).eval()
    tokens = torch.randn(8, 4, 96, generator=torch.Generator().manual_seed(1))
    with pytest.raises(ValueError, match="any_text=True"):
        entail(model, tokens, strings)
    with pytest.raises(ValueError, match="outside the grammar"):
        entail(model, tokens, strings, words=words)
    assert entail(model, tokens, strings[:1], words=words).shape == (1,)
    s = entail(model, tokens, strings, any_text=True)
    assert s.shape == (2,) and np.all((s > 0) & (s < 1))


def test_stamp_clips_are_spread_and_need_a_bank():
    assert [i for i in range(8) if is_stamp_clip(i, 0.25)] == [3, 7]
    assert not any(is_stamp_clip(i, 0.0) for i in range(100))
    assert sum(is_stamp_clip(i, 0.25) for i in range(40_000)) == 10_000
    with pytest.raises(ValueError, match="stamp bank"):
        make_clips(2, 0, n_frames=8, size=64, stamp_share=0.5, progress=False)
    with pytest.raises(ValueError, match="stamp_share"):
        make_clips(2, 0, n_frames=8, size=64, stamp_share=1.0, progress=False)
    plain = make_clips(3, 5, n_frames=8, size=64, progress=False)
    same = make_clips(3, 5, n_frames=8, size=64, progress=False, stamps=BANK, stamp_share=0.0)
    assert np.array_equal(plain.frames, same.frames) and plain.captions == same.captions


def test_gpu_configuration_runs_end_to_end_on_cpu_with_gpu_model_sizes():
    """The gpu scale's code path (review videocon3 M2), untested on a GPU: CONFIGS['gpu'] with its model and clip sizes
    (d = 256, 4 layers, 16 frames at 128 px; a quarter of the training clips animate Tux Paint stamps where they are
    installed) and tiny data and steps, through build_data, every arm with an explicit device, the filter,
    evaluate and the claims' measurements."""
    from dataclasses import replace

    from cvkit.core.backbones import load_mobilenet_v2
    from cvkit.core.claims import decide
    from cvkit.core.data import is_installed
    from cvkit.papers.videocon import (CONFIGS, build_data, claim_measurements, evaluate, filter_data,
                                       filter_threshold, keep_pairs, model_device, pair_margins, train_arms,
                                       train_filter_model, train_filtered, train_replicas)
    gpu = CONFIGS["gpu"]
    cfg = replace(gpu, n_train=4, n_test=6, n_unseen=1, folds=2, pairs=2, ssv2_queries=2, ssv2_per_query=1,
                  n_filter=2, train=replace(gpu.train, steps=2, batch=4))  # SEED 0 gives every fold group 2+ test clips
    assert (cfg.n_frames, cfg.size, cfg.train.d, cfg.train.layers, cfg.stamp_share) == (16, 128, 256, 4, 0.25)
    device = torch.device("cpu")  # what ctx.device gives without a GPU; the run passes ctx.device here
    backbone = load_mobilenet_v2(device=device)
    data = build_data(cfg, 0, backbone, progress=False)
    assert data.feats.tokens.shape[1:] == (16, 4, 96)
    stamped = [any(s.source == "tuxpaint" for s in sc.sprites) for sc in data.sets["train"].scripts]
    assert stamped == ([False, False, False, True] if is_installed("tuxpaint-stamps") else [False] * 4)
    models = train_arms(data, cfg, 0, progress=False, device=device)
    assert models["Con"].video.time.shape == (16, 1, 256) and len(models["Con"].head.blocks.layers) == 4
    assert all(model_device(m) == device for m in models.values())
    fdata = filter_data(cfg, 0, backbone, data.words, progress=False)
    margin = pair_margins(train_filter_model(fdata, cfg, 0, progress=False, device=device), data, cfg.n_frames)
    kinds = np.array([p.type for p in data.sets["train"].pairs])
    keep = keep_pairs(margin, filter_threshold(margin, kinds, quantile=cfg.filter_quantile))
    models["Con (filtered)"] = train_filtered(data, cfg, 0, keep, progress=False, device=device)
    replicas = train_replicas(data, cfg, 0, progress=False, device=device)
    ev = evaluate(models, data, cfg, 0, replicas=replicas, progress=False)
    measured = claim_measurements(ev)
    assert set(measured) == {s.id for s in SPECS}
    assert all(decide(s, measured[s.id], "gpu").verdict for s in SPECS)
