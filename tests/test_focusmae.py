"""cvkit.papers.focusmae: the cine generator's truth, candidate boxes and ROI tokens, focused masking (closed form,
identity at δ = 0, both bias targets), AdaMAE's sampler and loss, pretraining's pairing, metrics against sklearn,
patient-disjoint folds, the real-cine loader and clear errors on bad input."""
import math
from dataclasses import replace
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix

from cvkit.core.backbones import random_tube_mask
from cvkit.papers.focusmae import (CONFIGS, CineSpec, Masking, TokenSampler, adamae_mask, binary_metrics, box_iou,
                                   classical_candidates, clip_features, echo_level, expected_roi_share, fan_mask, finetune,
                                   focus_tube_mask, make_cine, make_cohort, noisy_boxes, patient_folds,
                                   predict_proba, pretrain, probe_accuracy, probe_predictions, roi_lesion_coverage, roi_share_replicates, roi_tokens,
                                   sampling_loss, speckle_stats, stack_clips, standardise)

SPEC = CineSpec(size=64, frames=16, lesion_contrast=2.5)


@pytest.fixture(scope="module")
def cohort():
    return make_cohort(SPEC, 12, seed=3)


def test_benign_clips_hold_no_lesion_and_malignant_ones_show_it_part_time(cohort):
    assert {c.label for c in cohort} == {0, 1}
    for c in cohort:
        assert c.frames.shape == (16, 64, 64) and np.isfinite(c.frames).all()
        assert c.frames.min() >= 0 and c.frames.max() <= 1 and (c.frames[:, ~c.fan] == 0).all()
        if c.label == 0:
            assert not c.lesion_mask.any() and not c.lesion_visible.any()
        else:
            assert 0.15 <= c.lesion_visible.mean() <= 0.75  # 30-60 % by construction, up to the flag's edges
            assert all(c.lesion_mask[k].any() for k in np.nonzero(c.lesion_visible)[0])


def test_patients_share_label_and_anatomy(cohort):
    for p in {c.patient for c in cohort}:
        clips = [c for c in cohort if c.patient == p]
        assert len(clips) == 2 and clips[0].label == clips[1].label
        assert not np.array_equal(clips[0].frames, clips[1].frames)  # different sweeps
    with pytest.raises(ValueError, match="n_clips"):
        make_cohort(SPEC, 1, seed=0)
    with pytest.raises(ValueError, match="label"):
        make_cine(SPEC, label=2, patient=0, clip_seed=0, patient_seed=0)


def test_generator_is_seeded():
    a = make_cine(SPEC, label=1, patient=0, clip_seed=5, patient_seed=6)
    b = make_cine(SPEC, label=1, patient=0, clip_seed=5, patient_seed=6)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.gb_box, b.gb_box)


def test_box_iou_hand_cases():
    assert box_iou([0, 0, 2, 2], [1, 1, 3, 3]) == pytest.approx(1 / 7)
    assert box_iou([0, 0, 2, 2], [0, 0, 2, 2]) == 1.0 and box_iou([0, 0, 1, 1], [2, 2, 3, 3]) == 0.0
    assert box_iou([0, 0, 0, 0], [0, 0, 0, 0]) == 0.0


def test_noisy_boxes_respect_their_iou_range():
    boxes = np.array([[10, 20, 40, 44]] * 50, float)
    out = noisy_boxes(boxes, size=64, iou=(0.6, 0.8), miss=0.0, false_positive=0.0, rng=np.random.default_rng(0))
    ious = [float(box_iou(b[0], t)) for b, t in zip(out, boxes) if len(b)]
    assert len(ious) >= 45 and all(0.6 <= i <= 0.8 for i in ious)
    missed = noisy_boxes(boxes, size=64, miss=1.0, false_positive=0.0, rng=np.random.default_rng(0))
    assert all(len(b) == 0 for b in missed)


def test_classical_candidates_hit_the_gallbladder_on_most_clean_frames(cohort):
    ious = []
    for c in cohort[:6]:
        for k in range(0, 16, 2):
            cand = classical_candidates(c.frames[k], c.fan)
            ious.append(float(box_iou(cand[0], c.gb_box[k])) if len(cand) else 0.0)
    assert np.mean(np.array(ious) >= 0.5) > 0.5
    with pytest.raises(ValueError, match="must match"):
        classical_candidates(np.zeros((8, 8)), np.ones((4, 4), bool))


def test_roi_tokens_hand_case_fallback_and_errors():
    r = roi_tokens(np.array([[0, 0, 16, 16]]), size=64, patch=16, inflate=1.0).reshape(4, 4)
    assert r.sum() == 1 and r[0, 0]
    r = roi_tokens(np.array([[0, 0, 16, 16]]), size=64, patch=16, inflate=2.0).reshape(4, 4)
    assert r[:2, :2].all() and r.sum() == 4  # inflated about (8, 8) to (−8, −8, 24, 24): centres 8 and 24
    centre = roi_tokens(np.zeros((0, 4)), size=64, patch=16).reshape(4, 4)
    assert centre[1:3, 1:3].all() and centre.sum() == 4
    with pytest.raises(ValueError, match="inside the frame"):
        roi_tokens(np.array([[-5, 0, 10, 10]]), size=64, patch=16)
    with pytest.raises(ValueError, match="inside the frame"):
        roi_tokens(np.array([[0, 0, 80, 10]]), size=64, patch=16)
    with pytest.raises(ValueError, match="inflate"):
        roi_tokens(np.array([[0, 0, 10, 10]]), size=64, patch=16, inflate=0)


def test_expected_roi_share_hand_cases():
    assert expected_roi_share(1, 1, 1, 3.0) == pytest.approx(0.75)
    assert expected_roi_share(3, 13, 5, 1.0) == pytest.approx(3 / 16)  # uniform: the population share
    assert expected_roi_share(3, 13, 16, 50.0) == pytest.approx(3 / 16)  # everything drawn
    # two draws from (π, 1, 1): P(region in set) = π/(π+2) + 2/(π+2)·π/(π+1); share = that / 2
    pi = 4.0
    assert expected_roi_share(1, 2, 2, pi) == pytest.approx((pi / (pi + 2) + 2 / (pi + 2) * pi / (pi + 1)) / 2)
    shares = [expected_roi_share(3, 13, 13, math.exp(d)) for d in (0, 1, 2, 5)]
    assert all(a < b for a, b in zip(shares, shares[1:]))
    with pytest.raises(ValueError, match="k"):
        expected_roi_share(3, 3, 7, 2.0)


def test_focus_tube_mask_monte_carlo_identity_and_bias_targets():
    roi = torch.zeros(3000, 16, dtype=torch.bool)
    roi[:, [0, 1, 4]] = True
    m = focus_tube_mask(roi, 2, ratio=0.75, delta=2.0, generator=torch.Generator().manual_seed(0))
    assert m.shape == (3000, 32) and m.sum(1).eq(24).all()
    assert torch.equal(m[:, :16], m[:, 16:])  # tubes
    share = ((m[:, :16] & roi).sum(1).float() / 12)
    se = float(share.std()) / math.sqrt(len(share))
    assert abs(float(share.mean()) - expected_roi_share(3, 13, 12, math.exp(2.0))) < 3 * se + 1e-9
    same = focus_tube_mask(roi[:5], 4, ratio=0.75, delta=0.0, generator=torch.Generator().manual_seed(7))
    assert torch.equal(same, random_tube_mask(5, (4, 4, 4), ratio=0.75, generator=torch.Generator().manual_seed(7)))
    vis = focus_tube_mask(roi, 1, ratio=0.75, delta=5.0, bias_target="visible", generator=torch.Generator().manual_seed(1))
    assert (vis & roi).float().sum(1).mean() < 0.5  # the code's reading keeps the region visible
    with pytest.raises(ValueError, match="visible"):
        focus_tube_mask(roi[:2], 1, ratio=0.99, delta=1.0)


def test_masking_options():
    assert Masking("tube").name == "tube" and Masking("adamae", 2.0).name == "Focus-AdaMAE (δ=2)"
    with pytest.raises(ValueError, match="base"):
        Masking("random")
    with pytest.raises(ValueError, match="bias_target"):
        Masking("tube", 2.0, "both")
    with pytest.raises(ValueError, match="region bias"):
        Masking("patch", 1.0)


def test_adamae_mask_and_sampling_loss():
    logits = torch.zeros(400, 8)
    roi = torch.zeros(400, 8, dtype=torch.bool)
    roi[:, :2] = True
    mask, log_p = adamae_mask(logits, roi, ratio=0.5, delta=6.0, generator=torch.Generator().manual_seed(0))
    assert mask.sum(1).eq(4).all() and torch.allclose(log_p.exp().sum(1), torch.ones(400))
    assert (mask & roi).float().mean(0)[:2].min() > 0.95  # paper reading: region masked
    mask_v, _ = adamae_mask(logits, roi, ratio=0.5, delta=6.0, bias_target="visible", generator=torch.Generator().manual_seed(0))
    assert (mask_v & roi).float().mean() < 0.02
    lp = torch.log(torch.tensor([[0.5, 0.25, 0.25]]))
    err = torch.tensor([[1.0, 2.0, 4.0]])
    m = torch.tensor([[False, True, True]])
    assert float(sampling_loss(lp, err, m)) == pytest.approx(-(math.log(0.25) * 2 + math.log(0.25) * 4) / 2)
    s = TokenSampler(8, 5, heads=2)
    assert s(torch.randn(2, 5, 8)).shape == (2, 5)


def test_metrics_match_sklearn_confusion_matrix():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    tn, fp, fn, tp = confusion_matrix(y, p).ravel()
    m = binary_metrics(y, p)
    assert m["accuracy"] == pytest.approx((tp + tn) / 200)
    assert m["sensitivity"] == pytest.approx(tp / (tp + fn)) and m["specificity"] == pytest.approx(tn / (tn + fp))
    with pytest.raises(ValueError, match="0/1"):
        binary_metrics(np.array([0, 2]), np.array([0, 1]))


def test_folds_are_patient_disjoint_and_stratified(cohort):
    labels = np.array([c.label for c in cohort] * 3)
    patients = np.array([c.patient for c in cohort] + [c.patient + 100 for c in cohort] + [c.patient + 200 for c in cohort])
    folds = patient_folds(labels, patients, k=3, seed=0)
    assert sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(len(labels)))
    for tr, te in folds:
        assert not set(patients[tr]) & set(patients[te])
        assert 0 < labels[te].mean() < 1
    with pytest.raises(ValueError, match="patients"):
        patient_folds(labels[:4], patients[:4], k=5, seed=0)


def test_pretraining_is_paired_and_finetuning_predicts(cohort):
    cfg = CONFIGS["smoke"]
    spec8 = CineSpec(size=64, frames=8)
    clips = standardise(stack_clips(make_cohort(spec8, 16, seed=4)))
    roi = torch.from_numpy(np.stack([roi_tokens(np.zeros((0, 4)), size=64, patch=16)] * 16))
    kw = dict(model_kw=cfg.model_kw, steps=4, batch=4, seed=1, progress=False)
    a = pretrain(clips, roi, Masking("tube"), **kw)
    b = pretrain(clips, roi, Masking("tube", 0.0), focus_path=True, **kw)
    c = pretrain(clips, roi, Masking("tube", 2.0), **kw)
    assert a.losses == b.losses and a.losses[0] == pytest.approx(c.losses[0], abs=0.5) and a.losses != c.losses
    labels = np.array([0, 1] * 8)
    net = finetune(a.model.state_dict(), clips, labels, model_kw=cfg.model_kw, steps=2, batch=4, seed=0)
    p = predict_proba(net, clips)
    assert p.shape == (16,) and ((p > 0) & (p < 1)).all()
    feats = clip_features(a.model, clips)
    assert feats.shape == (16, cfg.dim)
    accs = probe_accuracy(feats, labels, [(np.arange(8), np.arange(8, 16))])
    assert accs.shape == (1,) and 0 <= accs[0] <= 1
    with pytest.raises(ValueError, match="batch"):
        finetune(None, clips[:2], labels[:2], model_kw=cfg.model_kw, steps=1, batch=4)


def test_roi_share_replicates_and_errors():
    roi = torch.zeros(16, dtype=torch.bool)
    roi[[5, 6]] = True
    dev, rise, exact = roi_share_replicates(roi, ratio=0.75, delta=2.0, draws=2000, n_rep=10)
    assert dev.shape == rise.shape == (10,) and abs(dev.mean()) < 1.5 and rise.mean() > 0
    with pytest.raises(ValueError, match="inside"):
        roi_share_replicates(torch.ones(16, dtype=torch.bool), ratio=0.75, delta=2.0, draws=100)


def test_fan_and_speckle_stats():
    fan = fan_mask(64)
    assert fan[40, 32] and not fan[0, 0]
    frozen = np.repeat(np.random.default_rng(0).random((1, 32, 32)), 3, 0)
    st = speckle_stats(frozen)
    assert st["frame-to-frame correlation"] == pytest.approx(1.0) and st["lateral half-width"] >= 1
    with pytest.raises(ValueError, match="T >= 2"):
        speckle_stats(frozen[:1])


def test_real_cine_loader_and_non_us_dicom():
    pytest.importorskip("pydicom")
    from pydicom.data import get_testdata_file

    from cvkit.papers.focusmae import load_us_cine

    cine = load_us_cine(get_testdata_file("examples_ybr_color.dcm", download=False), size=64)
    assert cine.shape == (30, 64, 64) and 0 <= cine.min() and cine.max() <= 1
    with pytest.raises(ValueError, match="ultrasound"):
        load_us_cine(get_testdata_file("CT_small.dcm", download=False))


def test_the_real_cine_fits_the_gpu_model_at_the_gpu_size():
    """Review s7 blocker 1: the real-data cell resizes the cine to the configuration's frame size, so the gpu model
    (112², 16 frames, patch 16; dim reduced here) accepts it."""
    pytest.importorskip("pydicom")
    from pydicom.data import get_testdata_file

    from cvkit.core.backbones import VideoMAE
    from cvkit.papers.focusmae import load_us_cine

    gpu = CONFIGS["gpu"]
    real = load_us_cine(get_testdata_file("examples_ybr_color.dcm", download=False), size=gpu.cine.size)
    assert real.shape == (30, 112, 112)
    model = VideoMAE(**{**gpu.model_kw, "dim": 32, "depth": 1, "heads": 2, "decoder_dim": 16, "decoder_depth": 1})
    clip = standardise(torch.from_numpy(real[:gpu.cine.frames]))[None, None]
    mask = random_tube_mask(1, model.grid, ratio=gpu.ratio, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(model.loss(clip, mask))


def test_roi_lesion_coverage():
    lesion = np.zeros((2, 8, 8), bool)
    lesion[0, :2, :2] = True  # in patch 0 of a 2×2 grid of patch 4
    lesion[1, 6:, 6:] = True  # in patch 3
    roi = np.array([True, False, False, False])
    assert roi_lesion_coverage(lesion, roi, patch=4) == pytest.approx(0.5)
    assert roi_lesion_coverage(lesion, np.ones(4, bool), patch=4) == 1.0
    assert np.isnan(roi_lesion_coverage(np.zeros((2, 8, 8), bool), roi, patch=4))
    with pytest.raises(ValueError, match="roi"):
        roi_lesion_coverage(lesion, np.ones(9, bool), patch=4)
    with pytest.raises(ValueError, match="patch"):
        roi_lesion_coverage(lesion, roi, patch=3)


def test_mechanism_row_separates_the_closed_form_from_wrong_laws():
    "On the chapter's mechanism row (6 of 16 region tubes, ρ = 0.5, δ = 1) a wrong sampler cannot pass the ±1 band."
    n_m = 8
    exact = expected_roi_share(6, 10, n_m, math.e)
    for wrong in (6 / 16, 6 / n_m, math.e * 6 / (math.e * 6 + 10)):
        assert abs(exact - wrong) > 0.05
    roi = torch.arange(16) < 6
    dev, rise, cf = roi_share_replicates(roi, ratio=0.5, delta=1.0, draws=2000, n_rep=10)
    assert cf == pytest.approx(exact) and abs(dev.mean()) < 1.0 and (rise > 0).all()


def test_bad_inputs_raise_named_errors():
    with pytest.raises(ValueError, match="finite"):
        roi_tokens(np.array([[np.nan, 0, 10, 10]]), size=64, patch=16)
    with pytest.raises(ValueError, match="patch"):
        roi_tokens(np.zeros((0, 4)), size=64, patch=10)
    with pytest.raises(ValueError, match="bias_target"):
        focus_tube_mask(torch.zeros(1, 16, dtype=torch.bool), 2, ratio=0.8, delta=2.0, bias_target="visbile")
    with pytest.raises(ValueError, match="bias_target"):
        adamae_mask(torch.zeros(1, 16), None, ratio=0.75, bias_target="mask")
    with pytest.raises(ValueError, match="empty"):
        binary_metrics(np.array([]), np.array([]))
    with pytest.raises(ValueError, match="π"):
        expected_roi_share(3, 13, 13, float("nan"))
    with pytest.raises(ValueError):
        expected_roi_share(-1, 13, 5, 2.0)
    with pytest.raises(ValueError, match="delta"):
        Masking("tube", float("nan"))
    with pytest.raises(ValueError, match="iou"):
        noisy_boxes(np.array([[0, 0, 10, 10]]), size=64, iou=(0.9, 0.5), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="spec.size"):
        make_cine(CineSpec(size=0), label=0, patient=0, clip_seed=0, patient_seed=0)


def test_more_bad_inputs_raise_named_errors():
    kw = dict(size=32, frames=4, patch=16, dim=16, depth=1, heads=2, decoder_dim=8, decoder_depth=1)
    clips = torch.zeros(4, 1, 4, 32, 32)
    rois = torch.zeros(4, 4, dtype=torch.bool)
    with pytest.raises(ValueError, match="steps"):
        pretrain(clips, rois, Masking("tube"), model_kw=kw, steps=0, batch=2, progress=False)
    with pytest.raises(ValueError, match="batch"):
        pretrain(clips, rois, Masking("tube"), model_kw=kw, steps=1, batch=5, progress=False)
    with pytest.raises(ValueError, match="finite"):
        pretrain(torch.full_like(clips, float("nan")), rois, Masking("tube"), model_kw=kw, steps=1, batch=2, progress=False)
    with pytest.raises(ValueError, match="steps"):
        finetune(None, clips, np.array([0, 1, 0, 1]), model_kw=kw, steps=0, batch=2)
    with pytest.raises(ValueError, match="finite"):
        finetune(None, torch.full_like(clips, float("nan")), np.array([0, 1, 0, 1]), model_kw=kw, steps=1, batch=2)
    with pytest.raises(ValueError, match="lesion_contrast"):
        make_cine(CineSpec(size=32, frames=2, lesion_contrast=-1.0), label=1, patient=0, clip_seed=0, patient_seed=0)
    with pytest.raises(ValueError, match="finite"):
        noisy_boxes(np.array([[np.nan, 0, 10, 10]]), size=64, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="finite"):
        classical_candidates(np.full((32, 32), np.nan), np.ones((32, 32), bool))
    with pytest.raises(ValueError, match="t >= 1"):
        focus_tube_mask(torch.zeros(1, 16, dtype=torch.bool), 0, ratio=0.8, delta=2.0)
    with pytest.raises(ValueError, match="draws"):
        roi_share_replicates(torch.arange(16) < 6, ratio=0.5, delta=1.0, draws=0)


def test_finetune_trains_the_encoder_and_head_and_leaves_the_decoder_side_alone():
    kw = dict(size=32, frames=4, patch=16, dim=16, depth=1, heads=2, decoder_dim=8, decoder_depth=1)
    clips = torch.randn(8, 1, 4, 32, 32, generator=torch.Generator().manual_seed(0))
    start = pretrain(clips, torch.zeros(8, 4, dtype=torch.bool), Masking("tube"), model_kw=kw, steps=1, batch=4,
                     progress=False).model.state_dict()
    net = finetune(start, clips, np.array([0, 1] * 4), model_kw=kw, steps=3, batch=4)
    after = net.mae.state_dict()
    for name in start:
        moved = not torch.equal(start[name], after[name])
        decoder_side = name.startswith(("decoder", "to_decoder", "mask_token", "head"))
        assert moved != decoder_side, name


def test_echo_level_hand_case_and_the_oracle_level_separates_lesion_from_the_box():
    assert echo_level(SPEC, 1.0, depth=0.0) == pytest.approx(math.log1p(30) / math.log1p(90))
    assert echo_level(SPEC, 1.25) < echo_level(SPEC, 1.6) < echo_level(SPEC, 1.25 * math.sqrt(2.5)) < echo_level(SPEC, 3.125)
    assert echo_level(SPEC, 1.0, depth=1.0) < echo_level(SPEC, 1.0, depth=0.0)
    level = echo_level(SPEC, 1.25 * math.sqrt(SPEC.lesion_contrast))  # the chapter's oracle level
    clips = make_cohort(SPEC, 16, seed=5)
    lesion = np.concatenate([c.frames[c.lesion_mask] for c in clips if c.label == 1])
    in_box = np.concatenate([c.frames[k, int(b[1]):int(b[3]), int(b[0]):int(b[2])].ravel()
                             for c in clips for k, b in enumerate(c.gb_box)])
    assert np.median(in_box) < level < np.median(lesion)
    with pytest.raises(ValueError, match="echo"):
        echo_level(SPEC, 0.0)
    with pytest.raises(ValueError, match="depth"):
        echo_level(SPEC, 1.0, depth=1.5)


def test_probe_predictions_agree_with_probe_accuracy():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1] * 12)
    feats = labels[:, None] + rng.normal(0, 0.8, (24, 3))
    folds = [(np.arange(12), np.arange(12, 24)), (np.arange(12, 24), np.arange(12))]
    preds = probe_predictions(feats, labels, folds)
    assert [p.shape for p in preds] == [(12,), (12,)] and set(np.concatenate(preds)) <= {0, 1}
    accs = probe_accuracy(feats, labels, folds)
    assert accs.tolist() == [float((p == labels[te]).mean()) for p, (_, te) in zip(preds, folds)]


def test_vit_on_frames_helpers_split_clips_into_frames_and_score_each_frame():
    from cvkit.core.backbones import VideoMAE
    from cvkit.papers.focusmae import ClipClassifier, clip_frames, frame_scores, image_model_kw

    clips = torch.randn(3, 1, 4, 32, 32, generator=torch.Generator().manual_seed(0))
    frames = clip_frames(clips)
    assert frames.shape == (12, 1, 1, 32, 32)
    assert torch.equal(frames[2 * 4 + 3, 0, 0], clips[2, 0, 3])  # frame k of clip b at b·T + k
    kw = image_model_kw(dict(frames=4, size=32, patch=16, dim=16, depth=1, heads=2, decoder_dim=8, decoder_depth=1))
    assert kw["frames"] == 1 and kw["tubelet"] == 1
    torch.manual_seed(0)
    net = ClipClassifier(VideoMAE(**kw)).eval()
    assert net.mae.grid == (1, 2, 2)
    scores = frame_scores(net, clips)
    assert scores.shape == (3, 4) and ((scores > 0) & (scores < 1)).all()
    one = predict_proba(net, clips[1:2, :, 2:3])  # clip 1, frame 2, scored alone
    assert abs(float(one[0]) - float(scores[1, 2])) < 1e-6
    with pytest.raises(ValueError, match="clips must be"):
        clip_frames(clips[0])
    video_net = ClipClassifier(VideoMAE(**{**kw, "frames": 4, "tubelet": 2})).eval()
    with pytest.raises(ValueError, match="single-frame"):
        frame_scores(video_net, clips)


def test_laptop_decides_the_adamae_claim_on_every_seed_at_equal_steps_within_the_pair():
    cfg = CONFIGS["laptop"]
    assert cfg.adamae and cfg.adamae_seeds is None and cfg.seeds >= 5  # measured on every pretraining seed, n >= 5
    assert cfg.adamae_steps is not None and 0 < cfg.adamae_steps <= cfg.pretrain_steps
    assert cfg.frame_vit


def test_gumbel_top_k_draws_on_the_generators_device_unchanged_on_cpu():
    from cvkit.core.backbones import gumbel_top_k_mask

    logits = torch.randn(5, 9, generator=torch.Generator().manual_seed(1))
    got = gumbel_top_k_mask(logits, 4, generator=torch.Generator().manual_seed(2))
    u = torch.rand(logits.shape, generator=torch.Generator().manual_seed(2)).clamp_(1e-12, 1 - 1e-12)
    want = torch.zeros(5, 9, dtype=torch.bool).scatter_(1, (logits - torch.log(-torch.log(u))).topk(4, dim=1).indices, True)
    assert torch.equal(got, want)  # the CPU draws are the ones before the device change, draw for draw


def test_adamae_pretraining_trains_its_sampler_and_the_focus_bias_changes_its_run():
    cfg = CONFIGS["smoke"]
    clips = standardise(stack_clips(make_cohort(CineSpec(size=64, frames=8), 8, seed=6)))
    roi = torch.zeros(8, 16, dtype=torch.bool)
    roi[:, [5, 6, 9, 10]] = True
    kw = dict(model_kw=cfg.model_kw, steps=3, batch=4, seed=2, progress=False)
    plain = pretrain(clips, roi, Masking("adamae"), **kw)
    focus = pretrain(clips, roi, Masking("adamae", 2.0), **kw)
    assert plain.sampler is not None and len(plain.losses) == 3 and np.isfinite(plain.losses).all()
    assert plain.losses[0] != focus.losses[0]  # same weights and noise, the bias moves the first mask
    with torch.no_grad():
        from cvkit.core.claims import seeded_init
        with seeded_init(2, "sampler"):
            fresh = TokenSampler(plain.model.dim, plain.model.n_tokens)
    assert any(not torch.equal(p, q) for p, q in zip(fresh.parameters(), plain.sampler.parameters()))


def test_dry_run_keeps_the_model_sizes_and_arms_and_shrinks_only_data_and_steps():
    from cvkit.papers.focusmae import dry_run

    gpu, dry = CONFIGS["gpu"], dry_run(CONFIGS["gpu"])
    assert dry.model_kw == gpu.model_kw and dry.cine == gpu.cine  # 112², 16 frames, patch 16, 384-d, depth 6
    assert (dry.adamae, dry.sweep, dry.visible_arm, dry.scratch, dry.frame_vit) == (True, (1.0, 5.0), True, True, True)
    assert (dry.ratio, dry.delta, dry.inflate) == (gpu.ratio, gpu.delta, gpu.inflate)
    assert dry.n_unlabelled < gpu.n_unlabelled and dry.pretrain_steps < gpu.pretrain_steps and dry.seeds == 1
    assert dry_run(CONFIGS["laptop"]).adamae_steps == 2 and dry_run(CONFIGS["smoke"]).adamae_steps is None


def test_the_gpu_configuration_runs_end_to_end_on_cpu(tmp_path, monkeypatch):
    """The whole notebook at SCALE = "gpu" with DRY_RUN = True on the CPU: the gpu configuration's model sizes (112²,
    16 frames, 392 tokens, 384-d, depth 6), every arm it trains (tube, Focus-tube, AdaMAE, Focus-AdaMAE, the δ sweep,
    the code's "visible" reading), the no-pretraining and image baselines, claims, Explore and real data, on 8 + 8
    clips, one seed and one or two steps per loop. It shows that the configuration runs, not what it would measure:
    it has never run on a GPU."""
    from nbclient import NotebookClient

    from cvkit.core.claims import claims_from_notebook
    from cvkit.core.settings import PINS_ENV

    monkeypatch.delenv(PINS_ENV, raising=False)
    src = Path(__file__).resolve().parents[1] / "nbs" / "chapters" / "52_focusmae.ipynb"
    nb = nbformat.read(src, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    for old, new in (('SCALE = "smoke"', 'SCALE = "gpu"'), ('DEVICE = "auto"', 'DEVICE = "cpu"'),
                     ("DRY_RUN = False", "DRY_RUN = True")):
        assert old in params.source
        params.source = params.source.replace(old, new)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(src.parent)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "the dry run stopped before the last cell"
    text = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for c in code for o in c.outputs)
    assert "DRY RUN of the gpu configuration on cpu" in text and "392 tokens; dim 384, depth 6" in text
    arms = ("tube", "Focus-tube (δ=2)", "AdaMAE", "Focus-AdaMAE (δ=2)", "Focus-tube (δ=1)", "Focus-tube (δ=5)",
            "Focus-tube (δ=2, visible)")
    assert all(f"'{a}'" in text for a in arms), "an arm of the gpu configuration did not run"
    assert "by box source" in text and "'exact'" in text and "'classical'" in text  # the box-source arms ran
    claims = {c["id"]: c for c in claims_from_notebook(nb)}
    assert set(claims) == {"roi-share-closed-form", "focus-beats-tube", "focus-adamae-beats-adamae",
                           "video-beats-images", "pretraining-learns", "inverted-u", "gbusv-accuracy",
                           "covid-ct-transfer"}
    assert claims["gbusv-accuracy"]["verdict"] == claims["covid-ct-transfer"]["verdict"] == "not checkable"
    assert "fine-tuned accuracy at gpu" in claims["focus-adamae-beats-adamae"]["metric"]
    assert claims["inverted-u"]["n"] == 1 and claims["focus-adamae-beats-adamae"]["n"] == 1  # measured, not skipped


def test_focus_mask_probabilities_match_monte_carlo_and_conserve_the_masked_count():
    from cvkit.papers.focusmae import focus_mask_probabilities

    roi = torch.zeros(16, dtype=torch.bool)
    roi[[1, 2, 5, 6, 9]] = True
    rows = roi[None].expand(20000, -1)
    for target in ("masked", "visible"):
        p_in, p_out = focus_mask_probabilities(5, 11, ratio=0.75, delta=1.5, bias_target=target)
        m = focus_tube_mask(rows, 1, ratio=0.75, delta=1.5, bias_target=target, generator=torch.Generator().manual_seed(4))
        mc_in, mc_out = float(m[:, roi].float().mean()), float(m[:, ~roi].float().mean())
        assert abs(mc_in - p_in) < 0.01 and abs(mc_out - p_out) < 0.01, (target, mc_in, p_in, mc_out, p_out)
        assert 5 * p_in + 11 * p_out == pytest.approx(12)  # N_m = 12 tubes masked in every draw
    assert focus_mask_probabilities(5, 11, ratio=0.75, delta=1.5)[0] > 0.75 > focus_mask_probabilities(
        5, 11, ratio=0.75, delta=1.5, bias_target="visible")[0]
    assert focus_mask_probabilities(5, 11, ratio=0.75, delta=0.0) == pytest.approx((0.75, 0.75))
    assert focus_mask_probabilities(0, 16, ratio=0.75, delta=2.0) == (0.75, 0.75)
    with pytest.raises(ValueError, match="bias_target"):
        focus_mask_probabilities(5, 11, ratio=0.75, delta=1.0, bias_target="hidden")
    with pytest.raises(ValueError, match="finite"):
        focus_mask_probabilities(5, 11, ratio=0.75, delta=float("nan"))
    with pytest.raises(ValueError, match="n_roi"):
        focus_mask_probabilities(-1, 11, ratio=0.75, delta=1.0)


def test_finetune_folds_must_lie_between_one_and_folds():
    base = CONFIGS["laptop"]
    assert base.finetune_folds is not None and 1 <= base.finetune_folds <= base.folds
    for bad in (0, base.folds + 1):
        with pytest.raises(ValueError, match="finetune_folds"):
            replace(base, finetune_folds=bad)


def test_fc_norm_head_normalises_the_pooled_vector_and_fine_tuning_is_paired_by_seed():
    from cvkit.papers.focusmae import ClipClassifier
    from cvkit.core.backbones import VideoMAE

    kw = dict(size=32, frames=4, patch=16, dim=16, depth=1, heads=2, decoder_dim=8, decoder_depth=1)
    clips = torch.randn(8, 1, 4, 32, 32, generator=torch.Generator().manual_seed(0))
    plain, normed = ClipClassifier(VideoMAE(**kw)), ClipClassifier(VideoMAE(**kw), fc_norm=True)
    assert isinstance(plain.fc_norm, torch.nn.Identity) and isinstance(normed.fc_norm, torch.nn.LayerNorm)
    pooled = normed.fc_norm(normed.mae.features(clips))  # (B, dim): zero mean, unit variance per clip
    assert torch.allclose(pooled.mean(1), torch.zeros(8), atol=1e-5)
    assert torch.allclose(pooled.var(1, unbiased=False), torch.ones(8), atol=1e-3)
    start = pretrain(clips, torch.zeros(8, 4, dtype=torch.bool), Masking("tube"), model_kw=kw, steps=1, batch=4,
                     progress=False).model.state_dict()
    labels = np.array([0, 1] * 4)
    runs = [predict_proba(finetune(start, clips, labels, model_kw=kw, steps=3, batch=4, seed=s, fc_norm=True), clips)
            for s in (5, 5, 6)]
    assert np.array_equal(runs[0], runs[1])  # one seed: the same head, batches and flips, so the same model
    assert not np.array_equal(runs[0], runs[2])
    assert CONFIGS["laptop"].n_labelled // CONFIGS["laptop"].folds >= 200  # test folds of at least 200 clips


def test_layer_decay_groups_scale_the_rate_by_depth_and_label_smoothing_is_checked():
    from cvkit.core.backbones import VideoMAE
    from cvkit.papers.focusmae import ClipClassifier, layer_decay_groups

    kw = dict(size=32, frames=4, patch=16, dim=16, depth=2, heads=2, decoder_dim=8, decoder_depth=1)
    net = ClipClassifier(VideoMAE(**kw), fc_norm=True)
    groups = layer_decay_groups(net, lr=1e-3, layer_decay=0.5)
    ids = {id(p): g["lr"] for g in groups for p in g["params"]}
    assert ids[id(net.head.weight)] == ids[id(net.fc_norm.weight)] == ids[id(net.mae.norm.weight)] == 1e-3
    assert ids[id(net.mae.blocks[1].mlp[0].weight)] == pytest.approx(5e-4)  # the last block: one step below the head
    assert ids[id(net.mae.blocks[0].mlp[0].weight)] == pytest.approx(2.5e-4)
    assert ids[id(net.mae.embed.weight)] == pytest.approx(1.25e-4)  # the embedding: depth + 1 steps below
    assert id(net.mae.mask_token) not in ids and id(net.mae.decoder_norm.weight) not in ids  # decoder side not trained
    plain = layer_decay_groups(net, lr=1e-3, layer_decay=None)
    assert len(plain) == 1 and {id(p) for p in plain[0]["params"]} == set(ids)  # the same parameters, one rate
    with pytest.raises(ValueError, match="layer_decay"):
        layer_decay_groups(net, lr=1e-3, layer_decay=1.5)
    with pytest.raises(TypeError):  # the options are keyword-only
        layer_decay_groups(net, 1e-3, 0.5)
    clips = torch.randn(4, 1, 4, 32, 32, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="label_smoothing"):
        finetune(None, clips, np.array([0, 1, 0, 1]), model_kw=kw, steps=1, batch=2, label_smoothing=1.0)
    a = finetune(None, clips, np.array([0, 1, 0, 1]), model_kw=kw, steps=2, batch=2, layer_decay=None)
    b = finetune(None, clips, np.array([0, 1, 0, 1]), model_kw=kw, steps=2, batch=2, layer_decay=1.0)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))  # decay 1: the plain optimiser


def test_label_smoothing_and_layer_decay_change_the_fine_tuned_weights():
    "Each option of the recipe reaches the optimiser or the loss: switching it alone changes the trained weights."
    kw = dict(size=32, frames=4, patch=16, dim=16, depth=2, heads=2, decoder_dim=8, decoder_depth=1)
    clips = torch.randn(8, 1, 4, 32, 32, generator=torch.Generator().manual_seed(1))
    labels = np.array([0, 1] * 4)

    def weights(**options) -> list[torch.Tensor]:
        net = finetune(None, clips, labels, model_kw=kw, steps=3, batch=4, seed=2, fc_norm=True, **options)
        return [p.detach().clone() for p in net.parameters()]

    def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
        return all(torch.equal(p, q) for p, q in zip(a, b))

    base = weights()
    assert same(base, weights())  # one seed, one recipe: the same weights
    assert not same(base, weights(label_smoothing=0.1))  # smoothing reaches the loss
    assert not same(base, weights(layer_decay=0.5))  # decay reaches the optimiser's rates


def test_every_notebook_finetune_call_uses_the_scales_recipe():
    "Every fine-tuning in the chapter passes the configuration's recipe, rate and head (not finetune's defaults)."
    import re

    nb = nbformat.read(Path(__file__).resolve().parents[1] / "nbs/chapters/52_focusmae.ipynb", as_version=4)
    calls = []
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.source.lstrip().startswith("#| export"):
            continue
        for m in re.finditer(r"\bfinetune\(", cell.source):
            depth, end = 0, m.end() - 1
            for end in range(m.end() - 1, len(cell.source)):
                depth += {"(": 1, ")": -1}.get(cell.source[end], 0)
                if depth == 0:
                    break
            calls.append((cell.get("id"), cell.source[m.start():end + 1]))
    assert len(calls) >= 5, calls  # identity check, arms, box arms, no pretraining, ViT on frames
    for cid, call in calls:
        if "**id_ft" in call:  # the identity check's keywords, checked below
            continue
        for part in ("**cfg.finetune_recipe", "lr=cfg.finetune_lr", "fc_norm=cfg.finetune_fc_norm"):
            assert part in call, (cid, part, call)
    for cell in nb.cells:  # a call that passes a dict of keywords: the dict carries the recipe, rate and head
        if cell.cell_type == "code" and "id_ft = dict(" in cell.source:
            assert "**cfg.finetune_recipe" in cell.source and "lr=cfg.finetune_lr" in cell.source
            assert "fc_norm=cfg.finetune_fc_norm" in cell.source


def test_the_configuration_checks_the_fine_tuning_recipe():
    "A bad decay or smoothing fails when the configuration is made, not after every arm's pretraining."
    base = CONFIGS["laptop"]
    for bad in (0.0, 1.5, -0.2):
        with pytest.raises(ValueError, match="finetune_layer_decay"):
            replace(base, finetune_layer_decay=bad)
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="finetune_label_smoothing"):
            replace(base, finetune_label_smoothing=bad)
    assert replace(base, finetune_layer_decay=None).finetune_recipe["layer_decay"] is None
    assert all(c.finetune_recipe == dict(layer_decay=0.75, label_smoothing=0.1) for c in CONFIGS.values())
