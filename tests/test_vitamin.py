"""cvkit.papers.vitamin: the ViTamin blocks (LayerNorm2d, MBConv-LN, GeGLU, TFB) against hand computations, token grids
and embedding shapes per configuration, the paper's sizes, baselines matched within ±10 % (closed-form ViT count), MACs,
captions that parse back to their attributes, zero-shot tasks and prompts, a tiny paired run (same streams → same
scores), the claim specs and measurements, and clear errors on bad input."""
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from cvkit.core.claims import NOT_CHECKABLE, Measurement, NotMeasured, decide, explanation_anchors, numpy_stream, seeded_init
from cvkit.core.clip import count_macs, count_params
from cvkit.papers.vitamin import (
    CONFIGS, MNIST_TRAIN, DevicePairs, composite, cost_point, every_caption, text_embeddings, PINS, SPECS, TASKS, VITAMIN_SIZES, ConvNet, GeGluMlp, LayerNorm2d, MbConvLNBlock, RunConfig, TFBGeGLU,
    ViTamin, ViTaminConfig, ViTTower, build_tower, caption_of, cell_scores, chance_levels, claim_measurements,
    interleave_classes, make_eval_set, paste_rgba, make_pairs, match_convnet, match_vit, mnist_digits, parse_caption, run_experiment, task_labels,
    task_prompts, tower_settings, tower_table, vit_params)

NOTEBOOK = Path(__file__).resolve().parents[1] / "nbs" / "chapters" / "40_vitamin.ipynb"


def test_layernorm2d_normalises_channels_per_pixel():
    x = torch.randn(2, 5, 3, 4)
    y = LayerNorm2d(5, elementwise_affine=False)(x)
    ref = F.layer_norm(x.permute(0, 2, 3, 1), (5,)).permute(0, 3, 1, 2)
    assert torch.allclose(y, ref, atol=1e-6)


def test_mbconv_shapes_shortcut_and_stride_error():
    x = torch.randn(2, 8, 10, 10)
    assert MbConvLNBlock(8, 8)(x).shape == x.shape
    assert MbConvLNBlock(8, 12, stride=2)(x).shape == (2, 12, 5, 5)
    block = MbConvLNBlock(8, 8)
    with torch.no_grad():
        block.conv3_1x1.weight.zero_()
        block.conv3_1x1.bias.zero_()
    assert torch.equal(block(x), x)
    # the pooled shortcut: AvgPool(3, 2, pad 1, count_include_pad=False) then 1×1 conv
    down = MbConvLNBlock(8, 12, stride=2)
    pooled = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
    assert torch.allclose(down.shortcut(x), F.conv2d(pooled, down.shortcut.expand.weight, down.shortcut.expand.bias), atol=1e-6)
    # the official layout drops the 1×1 conv on a strided block that keeps the width: the shortcut is the pool alone
    same_width = MbConvLNBlock(8, 8, stride=2, official=True)
    assert torch.equal(same_width.shortcut(x), pooled) and not list(same_width.shortcut.parameters())
    assert sum(p.numel() for p in MbConvLNBlock(8, 8, stride=2).shortcut.parameters()) == 8 * 8 + 8  # teaching layout
    with pytest.raises(ValueError, match="stride"):
        MbConvLNBlock(8, 8, stride=3)


def test_official_key_list_and_checkpoint_loading(tmp_path):
    from cvkit.papers.vitamin import load_vitamin_checkpoint, official_keys
    # the paper's S at 224 px has exactly the official layout's names and shapes (a list written independently)
    with torch.device("meta"):
        s = ViTamin(VITAMIN_SIZES["S"], image_size=224, embed_dim=384)
    keys = official_keys(VITAMIN_SIZES["S"], image_size=224, embed_dim=384)
    assert {k: tuple(v.shape) for k, v in s.state_dict().items()} == keys
    assert "patch_embed.backbone.stages.0.0.shortcut.expand.weight" not in keys  # 64 → 64 at stride 2: pool only
    assert "blocks.13.mlp.w0.weight" in keys and keys["blocks.0.mlp.norm.weight"] == (768,)
    # a small official-layout size: a state_dict built from the key list alone loads by path, strictly
    cfg = ViTaminConfig("official-test", (8, 16), 32, 2, 2, official=True)
    gen = torch.Generator().manual_seed(0)
    state = {k: torch.randn(shape, generator=gen) for k, shape in official_keys(cfg, image_size=32, embed_dim=24).items()}
    path = tmp_path / "vitamin.pt"
    torch.save({"state_dict": {"visual.trunk." + k: v for k, v in state.items()}}, path)
    model = load_vitamin_checkpoint(ViTamin(cfg, image_size=32, embed_dim=24), str(path), prefix="visual.trunk.")
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 24)
    # missing, unexpected and mis-shaped keys are refused with the key named
    for bad, match in (({k: v for k, v in state.items() if k != "head.bias"}, "1 missing"),
                       ({**state, "blocks.0.mlp.fc2.weight": torch.zeros(1)}, "1 unexpected"),
                       ({**state, "pos_embed": torch.zeros(1, 16, 32)}, "wrong shape")):
        torch.save(bad, path)
        with pytest.raises(ValueError, match=match):
            load_vitamin_checkpoint(ViTamin(cfg, image_size=32, embed_dim=24), str(path))
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        load_vitamin_checkpoint(model, str(tmp_path / "absent.pt"))
    with pytest.raises(ValueError, match="teaching size"):
        official_keys(VITAMIN_SIZES["tiny"], image_size=32)


def test_frozen_mobilenet_tower_trains_only_its_head():
    from cvkit.core.backbones import MobileNetV2
    from cvkit.papers.vitamin import FrozenMobileNetTower
    with seeded_init(0, "test"):
        tower = FrozenMobileNetTower(MobileNetV2(), input_size=32, embed_dim=16)
    trainable = {n for n, p in tower.named_parameters() if p.requires_grad}
    assert trainable == {"norm.weight", "norm.bias", "proj.weight", "proj.bias"}
    bn = tower.backbone.features[1].conv[0][1]
    before = bn.running_mean.clone()
    tower.train()
    assert not tower.backbone.training and tower.proj.training  # the backbone's BatchNorm stays in eval mode
    out = tower(torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(0)))
    out.sum().backward()
    assert out.shape == (3, 16) and torch.equal(bn.running_mean, before) and tower.proj.weight.grad is not None
    with pytest.raises(ValueError, match="input_size"):
        FrozenMobileNetTower(MobileNetV2(), input_size=16)
    with pytest.raises(ValueError, match="expected images"):
        tower(torch.zeros(2, 1, 32, 32))


def test_geglu_hand_case_and_tfb_equivariance():
    mlp = GeGluMlp(3, 4)
    x = torch.randn(2, 3)
    ref = mlp.w2(F.gelu(x @ mlp.w0.weight.T + mlp.w0.bias) * (x @ mlp.w1.weight.T + mlp.w1.bias))
    assert torch.allclose(mlp(x), ref, atol=1e-6)
    block = TFBGeGLU(8, 2)
    assert block.mlp.w0.out_features == 16  # hidden = 2·D
    t = torch.randn(1, 5, 8)
    perm = torch.tensor([4, 2, 0, 1, 3])
    assert torch.allclose(block(t)[:, perm], block(t[:, perm]), atol=1e-5)
    with pytest.raises(ValueError, match="divisible"):
        TFBGeGLU(10, 3)


@pytest.mark.parametrize("size", ["tiny", "small"])
def test_token_grid_and_embedding_shapes(size):
    cfg = VITAMIN_SIZES[size]
    model = ViTamin(cfg, image_size=32, embed_dim=24)
    x = torch.zeros(3, 3, 32, 32)
    assert cfg.stride == 8 and model.tokens(x).shape == (3, 16, cfg.dim) and model(x).shape == (3, 24)
    names = [n for n, _ in model.stage_shapes(x)]
    assert names[0] == "input" and names[-1] == "embedding"


def test_paper_sizes_have_stride_16_and_token_grid():
    for key in ("S", "B", "L", "XL"):
        cfg = VITAMIN_SIZES[key]
        assert cfg.stride == 16 and cfg.stage_depths == (2, 4) and cfg.mlp_ratio == 2.0
    with torch.device("meta"):
        s = ViTamin(VITAMIN_SIZES["S"], image_size=224)
    assert s.grid == 14 and s.pos_embed.shape == (1, 196, 384)
    # the official layout counted by hand: stem, two MBConv-LN stages, the strided conv, positions, 14 TFB-GeGLU blocks
    # (12D² + 13D for attention and norms, 3·(2D·D) + 2D + D + 2·2D for the GeGLU with its inner norm), fc_norm
    D, c1, c2 = 384, 64, 128
    def mb(cin, cout, shortcut):  # pre_norm, 1×1 expand, depthwise 3×3, 1×1 project (+ shortcut conv)
        mid = 4 * cout
        return 2 * cin + (cin * mid + mid) + (9 * mid + mid) + (mid * cout + cout) + shortcut
    stem = (27 * c1 + c1) + 2 * c1 + (9 * c1 * c1 + c1)
    stages = mb(c1, c1, 0) + mb(c1, c1, 0) + mb(c1, c2, c1 * c2 + c2) + 3 * mb(c2, c2, 0)
    pool = 2 * c2 + (9 * c2 * D + D)
    block = (2 * D + 3 * D * D + 3 * D + D * D + D + 2 * D) + (2 * (D * 2 * D + 2 * D) + 2 * 2 * D + 2 * D * D + D)
    backbone = count_params(s) - sum(p.numel() for p in s.head.parameters())
    assert backbone == stem + stages + pool + 196 * D + 14 * block + 2 * D


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="divisible by"):
        ViTamin(VITAMIN_SIZES["tiny"], image_size=36)
    with pytest.raises(ValueError, match="heads"):
        ViTamin(ViTaminConfig("bad", (8, 8), 10, 1, 3, stage2_stride=1), image_size=32)
    with pytest.raises(ValueError, match="expected images"):
        ViTamin(VITAMIN_SIZES["tiny"], image_size=32).tokens(torch.zeros(1, 3, 16, 16))
    with pytest.raises(ValueError, match="divisible by the patch"):
        ViTTower(image_size=30, patch=8, dim=16, depth=1, heads=2)
    with pytest.raises(ValueError, match="divisible by 8"):
        make_pairs(2, np.random.default_rng(0), size=30)
    with pytest.raises(ValueError, match="positive"):
        make_pairs(0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="digit_rate is a probability"):
        make_pairs(2, np.random.default_rng(0), digit_rate=1.5)
    with pytest.raises(ValueError, match="two_rate is a probability"):
        make_pairs(2, np.random.default_rng(0), two_rate=-0.1)
    with pytest.raises(ValueError, match="digit_pool"):
        make_pairs(2, np.random.default_rng(0), digit_pool=(4000, 3000))
    with pytest.raises(ValueError, match="unknown task"):
        task_prompts("weather")
    with pytest.raises(ValueError, match="unknown tower kind"):
        build_tower("mlp", {})


def test_vit_closed_form_and_matching():
    for dim, depth, patch in ((16, 1, 8), (48, 2, 4), (64, 3, 8)):
        assert count_params(ViTTower(image_size=32, patch=patch, dim=dim, depth=depth, heads=2)) == \
            vit_params(dim, depth, patch=patch, image_size=32)
    target = count_params(ViTamin(VITAMIN_SIZES["tiny"], image_size=32))
    vit = match_vit(target, depth=2, heads=2, patch=8, image_size=32)
    assert abs(count_params(ViTTower(**vit)) / target - 1) < 0.1
    conv = match_convnet(target)
    assert abs(count_params(ConvNet(**conv)) / target - 1) < 0.1


@pytest.mark.parametrize("size", ["tiny", "small"])
def test_matched_towers_within_ten_percent(size):
    table = tower_table(size, 32)
    assert list(table.index) == ["ViTamin", "ViT/8", "ViT/4", "ConvNet", "CoAtNet"]
    assert table["params / ViTamin"].between(0.9, 1.1).all()
    assert table.loc["ViT/4", "MACs"] > table.loc["ViT/8", "MACs"]  # four times the tokens
    settings = tower_settings(size, 32)
    assert settings["ViT/4"][1]["dim"] == settings["ViT/8"][1]["dim"] and settings["ViT/4"][1]["patch"] == 4


def test_macs_of_a_tower_are_its_conv_and_linear_counts():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 2, stride=2), torch.nn.Flatten(), torch.nn.Linear(4 * 16 * 16, 5))
    assert count_macs(net, torch.zeros(1, 3, 32, 32)) == 4 * 3 * 4 * 256 + 4 * 256 * 5


def test_captions_parse_back_to_their_attributes():
    images, captions, truth = make_pairs(60, np.random.default_rng(1), two_rate=0.4, digit_rate=0.2)
    assert images.shape == (60, 32, 32, 3) and images.dtype == np.uint8
    kinds = set()
    for c, t in zip(captions, truth):
        parsed = parse_caption(c)
        if "digit" in t:
            assert parsed == [{"digit": t["digit"]}]
            kinds.add("digit")
        elif len(t["objects"]) == 1:
            assert parsed == t["objects"]
            kinds.add("one")
        else:
            assert parsed == [{"shape": o["shape"]} for o in t["objects"]]
            kinds.add("two")
    assert kinds == {"digit", "one", "two"}
    obj = dict(size="large", colour="red", texture="striped", shape="star", position="on the left")
    assert caption_of([obj]) == "one object: a large red striped star on the left"
    with pytest.raises(ValueError, match="cannot parse"):
        parse_caption("a dog")
    with pytest.raises(ValueError, match="one or two"):
        caption_of([])


def test_pairs_are_a_prefix_stream_and_digits_split():
    a = make_pairs(10, numpy_stream(3, "data"))
    b = make_pairs(25, numpy_stream(3, "data"))
    assert np.array_equal(a[0], b[0][:10]) and a[1] == b[1][:10]
    digits, labels = mnist_digits()
    assert digits.shape == (5000, 28, 28) and set(labels.tolist()) == set(range(10))
    # the split is per class: every digit is both trained on and held out (the CSV itself is sorted by label)
    assert set(labels[:MNIST_TRAIN].tolist()) == set(labels[MNIST_TRAIN:].tolist()) == set(range(10))
    assert np.bincount(labels[:MNIST_TRAIN]).tolist() == [400] * 10 and np.bincount(labels[MNIST_TRAIN:]).tolist() == [100] * 10
    ev = make_eval_set(40, np.random.default_rng(0))
    assert len(set(ev.digit_labels.tolist())) >= 8  # held-out digits of (nearly) every class, not two


def test_interleave_classes_by_hand():
    assert interleave_classes(np.array([0, 0, 0, 1, 1, 2])).tolist() == [0, 3, 5, 1, 4, 2]
    with pytest.raises(ValueError, match="one-dimensional"):
        interleave_classes(np.zeros((2, 2)))


def test_eval_set_tasks_and_chance():
    ev = make_eval_set(16, np.random.default_rng(2))
    for task in TASKS:
        images, labels = task_labels(task, ev)
        names, prompts = task_prompts(task)
        assert len(images) == len(labels) and labels.max() < len(names) and len(prompts) == len(names)
    assert len(set(ev.retrieval_captions)) == len(ev.retrieval_captions)
    chance = chance_levels(ev)
    assert chance["count"] == 50.0 and chance["shape×colour"] == pytest.approx(100 / 36)


def test_tiny_paired_run_is_deterministic_and_claims_measure():
    cfg = RunConfig(image_size=32, budgets=(128,), towers=("ViTamin", "ViT/8"), seeds=2, batch=64, eval_n=12)
    a = run_experiment(cfg, 0, progress=False)
    b = run_experiment(cfg, 0, progress=False)
    pd.testing.assert_frame_equal(a.scores, b.scores)
    assert set(a.scores["tower"]) == {"ViTamin", "ViT/8"} and len(a.scores) == 4
    cells = cell_scores(a.scores, size="tiny")
    assert cells.shape == (2, 2)
    m = claim_measurements(a, cfg)
    assert isinstance(m["vitamin-beats-vit"], Measurement) and m["vitamin-beats-vit"].n == 2
    assert isinstance(m["finer-patches-help"], NotMeasured) and isinstance(m["ltt-helps"], NotMeasured)
    diff = (cells[("ViTamin", 128)] - cells[("ViT/8", 128)]).to_numpy()
    assert np.allclose(m["vitamin-beats-vit"].values, diff)
    for spec in SPECS:
        claim = decide(spec, m[spec.id], "smoke")
        assert claim.verdict in ("reproduced", "not reproduced", "undecided", "not checkable")


def test_central_block_is_fresh_and_used_by_the_central_claim():
    cfg = RunConfig(image_size=32, budgets=(128, 256), towers=("ViTamin", "ViT/8"), seeds=2, batch=64, eval_n=12,
                    central_seeds=2, central_first=10)
    r = run_experiment(cfg, 0, progress=False)
    central = r.scores[r.scores["block"] == "central"]
    assert sorted(set(central["replicate"])) == [10, 11] and set(central["budget"]) == {128}
    assert set(central["tower"]) == {"ViTamin", "ViT/8"}
    m = claim_measurements(r, cfg)
    # the central claim pools the grid's replicates (0, 1) of its cell with the block's (10, 11): n = 4
    cells = pd.concat([cell_scores(r.scores, size="tiny")[[("ViTamin", 128), ("ViT/8", 128)]],
                       cell_scores(r.scores, size="tiny", block="central")])
    assert m["vitamin-beats-vit"].n == 4
    assert np.allclose(m["vitamin-beats-vit"].values, (cells[("ViTamin", 128)] - cells[("ViT/8", 128)]).to_numpy())
    assert m["vitamin-beats-vit"].chance == pytest.approx(np.mean([chance_levels(r.eval_sets[i])["avg-tasks"]
                                                                   for i in (0, 1, 10, 11)]))
    with pytest.raises(ValueError, match="overlap"):
        run_experiment(RunConfig(image_size=32, budgets=(128,), towers=("ViTamin", "ViT/8"), seeds=2, batch=64,
                                 eval_n=12, central_seeds=2, central_first=1), 0, progress=False)


def test_every_budget_limits_the_other_towers_to_the_smallest_budget_and_lifts():
    from cvkit.papers.vitamin import tower_lifts
    cfg = RunConfig(image_size=32, budgets=(64, 128), towers=("ViTamin", "ViT/8", "ViT/4"), seeds=1, batch=32, eval_n=12,
                    every_budget=("ViTamin", "ViT/8"))
    r = run_experiment(cfg, 0, progress=False)
    cells = set(zip(r.scores["tower"], r.scores["budget"]))
    assert cells == {("ViTamin", 64), ("ViTamin", 128), ("ViT/8", 64), ("ViT/8", 128), ("ViT/4", 64)}
    m = claim_measurements(r, cfg)
    vit4, vit8 = cell_scores(r.scores, size="tiny")[("ViT/4", 64)], cell_scores(r.scores, size="tiny")[("ViT/8", 64)]
    assert np.allclose(m["finer-patches-help"].values, (vit4 - vit8).to_numpy())  # at the largest budget ViT/4 runs
    lifts = tower_lifts(r)
    chance = chance_levels(r.eval_sets[0])["avg-tasks"]
    row = r.scores.query("tower == 'ViT/4'").iloc[0]
    assert lifts[("tiny", "ViT/4", 64)] == pytest.approx(row["avg-tasks"] - chance) and len(lifts) == 5
    with pytest.raises(ValueError, match="every_budget"):
        run_experiment(RunConfig(image_size=32, budgets=(64,), towers=("ViTamin", "ViT/8"), seeds=1, batch=32,
                                 eval_n=12, every_budget=("ConvNet",)), 0, progress=False)


def test_laptop_config_is_the_declared_design():
    lap = CONFIGS["laptop"]
    assert lap.budgets[0] == 8192 and lap.batch == 32 and lap.every_budget == ("ViTamin", "ViT/8")
    assert lap.seeds + lap.central_seeds >= 10 and lap.central_first >= 200  # fresh ids, never in an earlier pinned run


def test_lead_shrinks_needs_a_lead():
    # replicate values: max(gap(large) − gap(small), 1 − gap(small)); a replicate behind at the small budget fails (> 1)
    import cvkit.papers.vitamin as V
    cfg = RunConfig(image_size=32, budgets=(128, 256), towers=("ViTamin", "ViT/8"), seeds=3, bigger="small")
    rows = []
    for rep, (gs, gl) in enumerate([(4.0, 2.0), (-3.0, -9.0), (0.5, 3.0)]):
        for budget, g in ((128, gs), (256, gl)):
            rows += [dict(block="grid", replicate=rep, text="LTT", size="tiny", tower="ViTamin", budget=budget,
                          **{"avg-tasks": 30.0 + g}),
                     dict(block="grid", replicate=rep, text="LTT", size="tiny", tower="ViT/8", budget=budget,
                          **{"avg-tasks": 30.0})]
    evs = {r: make_eval_set(4, np.random.default_rng(r)) for r in range(3)}
    result = V.RunResult(pd.DataFrame(rows), {}, 0.0, {}, evs, {})
    m = claim_measurements(result, cfg)
    assert m["lead-shrinks"].values == pytest.approx((-2.0, 4.0, 2.5))


def test_specs_pins_and_explanations():
    nb = json.loads(NOTEBOOK.read_text())
    anchors = explanation_anchors(nb)
    ids = [s.id for s in SPECS]
    assert len(ids) == len(set(ids)) and set(ids) == set(PINS)
    assert sum(s.central for s in SPECS) == 1
    for s in SPECS:
        for scale in ("smoke", "laptop", "gpu"):
            assert s.rule(scale).expected == PINS[s.id][scale]
        if s.explanation:
            assert s.explanation in anchors
    central = next(s for s in SPECS if s.central)
    assert central.rule("smoke").threshold == 2.0 and central.rule("laptop").threshold == 3.0
    assert CONFIGS["laptop"].seeds >= 5 and CONFIGS["smoke"].towers == ("ViTamin", "ViT/8")
    assert all(PINS[i]["smoke"] == NOT_CHECKABLE for i in ids if i != "vitamin-beats-vit")


def test_attention_agrees_with_torch_multihead_attention():
    from cvkit.papers.vitamin import Attention

    attn = Attention(8, 2)
    ref = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(attn.qkv.weight)
        ref.in_proj_bias.copy_(attn.qkv.bias)
        ref.out_proj.weight.copy_(attn.proj.weight)
        ref.out_proj.bias.copy_(attn.proj.bias)
    x = torch.randn(3, 5, 8)
    assert torch.allclose(attn(x), ref(x, x, x, need_weights=False)[0], atol=1e-5)


def test_paste_and_render_helpers():
    from cvkit.papers.vitamin import all_prompts, digit_image, paste_rgba, random_object, render_scene, sprite

    canvas = np.zeros((4, 4, 3), np.uint8)
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[0, 0, 3] = 255  # one opaque pixel, one half-transparent, two transparent
    rgba[1, 1, 3] = 128
    paste_rgba(canvas, rgba, 2.0, 2.0)  # centred at (2, 2): covers rows/cols 1-2
    assert canvas[1, 1].tolist() == [200] * 3 and canvas[2, 2, 0] == int(128 / 255 * 200) and canvas[1, 2].sum() == 0
    paste_rgba(canvas, rgba, -5.0, -5.0)  # entirely outside: clipped, nothing changes, no error
    rng = np.random.default_rng(0)
    obj = random_object(rng, "on the left")
    assert obj["position"] == "on the left" and set(obj) == {"shape", "colour", "texture", "size", "position"}
    scene = render_scene([obj], 32, rng, background="plain")
    assert scene.shape == (32, 32, 3) and scene.dtype == np.uint8
    assert sprite("star", "red", "plain", 12) is sprite("star", "red", "plain", 12)  # cached
    digit = digit_image(mnist_digits()[0][0], 32, rng)
    assert digit.shape == (32, 32, 3) and digit.max() > 100
    prompts = all_prompts()
    assert all(p in prompts for t in TASKS for group in task_prompts(t)[1] for p in group)


def test_relative_index_by_hand_and_bias_is_translation_equivariant():
    from cvkit.papers.vitamin import relative_index
    idx = relative_index(2)  # tokens (0,0), (0,1), (1,0), (1,1); offsets (Δr + 1)·3 + (Δc + 1)
    assert idx.tolist() == [[4, 3, 1, 0], [5, 4, 2, 1], [7, 6, 4, 3], [8, 7, 5, 4]]
    idx3 = relative_index(3)
    assert idx3.shape == (9, 9) and idx3.min() == 0 and idx3.max() == 24 and (idx3.diagonal() == 12).all()
    # two query/key pairs with the same offset share one bias entry: (0,0)→(1,1) and (1,1)→(2,2)
    assert idx3[0, 4] == idx3[4, 8]


def test_relative_attention_bias_changes_logits_and_bad_token_count():
    from cvkit.papers.vitamin import RelativeAttention
    with seeded_init(0, "test"):
        attn = RelativeAttention(8, 8, 2, grid=3)
    x = torch.randn(2, 9, 8, generator=torch.Generator().manual_seed(0))
    before = attn(x)
    with torch.no_grad():
        attn.bias_table[:, 12] = 5.0  # the zero offset: every token attends more to itself
    assert not torch.allclose(before, attn(x))
    with pytest.raises(ValueError, match="9 tokens"):
        attn(torch.randn(1, 8, 8))
    with pytest.raises(ValueError, match="divisible"):
        RelativeAttention(8, 10, 4, grid=2)


def test_coatnet_shapes_matching_stride_and_bad_inputs():
    from cvkit.papers.vitamin import CoAtNet, MbConvBNBlock, match_coatnet
    cfg = VITAMIN_SIZES["tiny"]
    target = count_params(ViTamin(cfg, image_size=32))
    settings = match_coatnet(target, cfg, image_size=32)
    net = CoAtNet(**settings)
    assert abs(count_params(net) / target - 1) < 0.1
    assert settings["cfg"].stride == cfg.stride and settings["cfg"].dim % (4 * cfg.heads) == 0
    feats = net.stages(net.stem(torch.zeros(2, 3, 32, 32)))
    assert feats.shape[-2:] == (32 // cfg.stride, 32 // cfg.stride)  # ViTamin's token grid
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 384)
    with pytest.raises(ValueError, match="expected images"):
        net(torch.zeros(2, 3, 16, 16))
    with pytest.raises(ValueError, match="divisible"):
        CoAtNet(cfg, image_size=36)
    block = MbConvBNBlock(8, 16, stride=2)
    assert block(torch.zeros(2, 8, 8, 8)).shape == (2, 16, 4, 4)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in block.modules())  # what ViTamin replaces by LayerNorm
    with pytest.raises(ValueError, match="stride"):
        MbConvBNBlock(8, 8, stride=3)
    with pytest.raises(ValueError, match="unknown tower kind"):
        build_tower("coatnet-7", {})


def test_coatnet_trains_in_a_paired_run():
    cfg = RunConfig(image_size=32, budgets=(64,), towers=("ViTamin", "ViT/8", "CoAtNet"), seeds=1, batch=32, eval_n=12)
    r = run_experiment(cfg, 0, progress=False)
    again = run_experiment(cfg, 0, progress=False)
    row = r.scores.query("tower == 'CoAtNet'")
    assert len(row) == 1 and np.isfinite(row["avg-tasks"]).all()
    assert r.scores["avg-tasks"].tolist() == again.scores["avg-tasks"].tolist()  # same streams, same scores
    assert set(claim_measurements(r, cfg)) >= {"vitamin-beats-vit"}  # the claims read the first four towers only
    assert "CoAtNet" in CONFIGS["gpu"].towers and "CoAtNet" not in CONFIGS["laptop"].towers


def test_stamp_eval_set_prompts_and_balanced_accuracy():
    from cvkit.core.sprites import SpriteBank
    from cvkit.papers.vitamin import balanced_accuracy, stamp_eval_set, stamp_prompts
    bank = SpriteBank.procedural(seed=0, n=30, size=20)  # stands in for Tux Paint's bank (two categories)
    images, labels, categories = stamp_eval_set(bank, 32, np.random.default_rng(0), per_category=4)
    assert images.shape == (4 * len(categories), 32, 32, 3) and images.dtype == np.uint8
    assert sorted(set(labels.tolist())) == list(range(len(categories)))
    assert (images[:, 0, 0] == 128).all() and (images[:, 16, 16] != 128).any()  # grey canvas, a stamp in the centre
    prompts = stamp_prompts(["animals", "unlisted"])
    assert prompts[0][0] == "a picture of an animal" and prompts[1][1] == "a drawing of unlisted"
    labels = np.array([0, 0, 0, 1])
    assert balanced_accuracy(np.array([0, 0, 0, 0]), labels) == 50.0  # all one class: chance for two classes
    assert balanced_accuracy(labels, labels) == 100.0
    with pytest.raises(ValueError, match="larger than"):
        stamp_eval_set(bank, 8, np.random.default_rng(0))
    with pytest.raises(ValueError, match="per_category"):
        stamp_eval_set(bank, 32, np.random.default_rng(0), per_category=0)
    with pytest.raises(ValueError, match="equal"):
        balanced_accuracy(np.array([0]), labels)


def test_composite_equals_paste_rgba_with_clipping_and_absent_sprites():
    rng = np.random.default_rng(0)
    bank = rng.integers(0, 256, size=(5, 7, 7, 4), dtype=np.uint8)
    bank[..., 3][rng.random((5, 7, 7)) < 0.3] = 0
    canvas = rng.integers(0, 256, size=(6, 12, 12, 3), dtype=np.uint8)
    index, top, left = np.array([0, 1, 2, 3, 4, 0]), np.array([-3, 0, 5, 9, 2, 4]), np.array([1, -6, 5, 8, 11, 4])
    present = np.array([True, True, True, True, True, False])
    out = composite(torch.as_tensor(canvas), torch.as_tensor(bank), torch.as_tensor(index), torch.as_tensor(top),
                    torch.as_tensor(left), torch.as_tensor(present)).numpy()
    for b in range(6):
        expected = canvas[b].copy()
        if present[b]:
            paste_rgba(expected, bank[index[b]], left[b] + 3.5, top[b] + 3.5)
        assert np.array_equal(out[b], expected), b
    with pytest.raises(ValueError, match="canvas"):
        composite(torch.as_tensor(canvas).float(), torch.as_tensor(bank), *map(torch.as_tensor, (index, top, left, present)))
    with pytest.raises(ValueError, match="one entry per image"):
        composite(torch.as_tensor(canvas), torch.as_tensor(bank), *map(torch.as_tensor, (index[:2], top, left, present)))


def test_device_pairs_follow_make_pairs_law_and_are_reproducible():
    pairs = DevicePairs(size=32, device="cpu", rng=numpy_stream(0, "bg"), background_pool=8, two_rate=0.3, digit_rate=0.1)
    images, captions = pairs.draw(3000, numpy_stream(0, "draw"))
    again, captions2 = DevicePairs(size=32, device="cpu", rng=numpy_stream(0, "bg"), background_pool=8).draw(
        3000, numpy_stream(0, "draw"))
    assert images.shape == (3000, 32, 32, 3) and images.dtype == torch.uint8
    assert torch.equal(images, again) and captions == captions2
    assert set(captions) <= set(every_caption())
    kinds = pd.Series([c.split(":")[0] if ":" in c else "digit" for c in captions]).value_counts(normalize=True)
    assert abs(kinds["digit"] - 0.1) < 0.02 and abs(kinds["two objects"] - 0.27) < 0.03  # 0.3 · (1 − 0.1)
    singles = [parse_caption(c)[0] for c in captions if c.startswith("one object")]
    shares = pd.Series([o["colour"] for o in singles]).value_counts(normalize=True)
    assert len(shares) == 6 and shares.min() > 0.10  # six colours, about 1/6 each
    digits = [i for i, c in enumerate(captions) if c.startswith("a handwritten")]
    assert images[digits].float().mean() < images.float().mean()  # dark digit canvases
    with pytest.raises(ValueError, match="multiple of 8"):
        DevicePairs(size=30, device="cpu", rng=numpy_stream(0, "bg"))
    with pytest.raises(ValueError, match="probability"):
        DevicePairs(size=32, device="cpu", rng=numpy_stream(0, "bg"), two_rate=1.5)
    with pytest.raises(ValueError, match="positive"):
        pairs.draw(0, numpy_stream(0, "draw"))


def test_every_caption_covers_make_pairs():
    _, captions, _ = make_pairs(400, numpy_stream(3, "data"), size=32)
    assert set(captions) <= set(every_caption())
    assert len(every_caption()) == 6 * 6 * 3 * 2 * 5 + 36 + 10


def test_gpu_configuration_runs_end_to_end_on_the_cpu():
    """The gpu configuration's code path (96 px, ViTamin-S/2 and S in the official stride-16 layout, ViT/16 and ViT/8,
    ConvNet, CoAtNet, pairs drawn by DevicePairs, the bigger size, scratch text) at tiny budgets, on the CPU: every
    cell trains and is scored. Untested on a GPU (none was lent)."""
    gpu = CONFIGS["gpu"]
    assert gpu.image_size == 96 and gpu.stream and gpu.size == "S/2" and gpu.bigger == "S"
    assert gpu.budgets == (262144, 1048576, 4194304)
    assert list(tower_settings(gpu.size, gpu.image_size))[:3] == ["ViTamin", "ViT/16", "ViT/8"]
    cfg = dataclasses.replace(gpu, budgets=(8, 16), seeds=1, batch=8, eval_n=4, background_pool=2)
    result = run_experiment(cfg, 0, device="cpu", progress=False)
    cells = set(zip(result.scores["text"], result.scores["size"], result.scores["tower"], result.scores["budget"]))
    expected = {("LTT", "S/2", t, b) for t in ("ViTamin", "ViT/16") for b in (8, 16)}
    expected |= {("LTT", "S/2", t, 8) for t in ("ViT/8", "ConvNet", "CoAtNet")}
    expected |= {("LTT", "S", t, 16) for t in ("ViTamin", "ViT/16")} | {("scratch", "S/2", "ViTamin", 8)}
    assert cells == expected
    assert np.isfinite(result.scores["avg-tasks"]).all()
    table = tower_table(gpu.size, gpu.image_size)
    assert table["params / ViTamin"].between(0.9, 1.1).all()


def test_device_pairs_attribute_shares_match_make_pairs():
    stored = [parse_caption(c)[0] for c in make_pairs(3000, numpy_stream(1, "data"), size=32)[1] if c.startswith("one object")]
    drawn = [parse_caption(c)[0] for c in DevicePairs(size=32, device="cpu", rng=numpy_stream(0, "bg"),
                                                       background_pool=2).draw(3000, numpy_stream(1, "draw"))[1]
             if c.startswith("one object")]
    for key in ("shape", "texture", "size", "position"):
        a = pd.Series([o[key] for o in stored]).value_counts(normalize=True)
        b = pd.Series([o[key] for o in drawn]).value_counts(normalize=True)
        assert set(a.index) == set(b.index) and (a - b).abs().max() < 0.05, key


def test_text_embeddings_are_on_the_cpu_and_cost_point_reads_the_table():
    class Table(torch.nn.Module):
        def forward(self, texts):
            return torch.ones(len(texts), 3, dtype=torch.float64)

    out = text_embeddings(Table(), ["a", "b"])
    assert out.device.type == "cpu" and out.dtype == torch.float32 and out.shape == (2, 3)
    cfg = RunConfig(image_size=32, budgets=(8, 16), towers=("ViTamin", "ViT/8"), seeds=2, bigger="small")
    rows = []
    for r in (0, 1):
        for size, tower, score in (("tiny", "ViTamin", 30.0), ("tiny", "ViT/8", 35.0), ("small", "ViTamin", 36.0),
                                   ("small", "ViT/8", 33.0)):
            rows.append({"block": "grid", "replicate": r, "text": "LTT", "size": size, "tower": tower, "budget": 16,
                         "avg-tasks": score})
    point = cost_point(pd.DataFrame(rows), cfg)
    assert point["best_vit"]["size"] == "tiny" and point["best_vit"]["tower"] == "ViT/8"
    assert point["vitamin"]["size"] == "small"
    tiny, small = tower_table("tiny", 32), tower_table("small", 32)
    assert point["ratio"] == pytest.approx(small.loc["ViTamin", "params"] / tiny.loc["ViT/8", "params"])
