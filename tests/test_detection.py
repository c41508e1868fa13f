"""cvkit.core.detection: IoU and NMS on hand cases and against brute force, mAP@0.5 hand cases, CenterNet and FCOS
targets that decode back to their boxes, the losses, and clear errors on bad boxes."""
import numpy as np
import pytest
import torch

from cvkit.core.detection import (CenterNetHead, Detections, FCOSHead, average_precision, box_area, box_iou,
                                  centernet_loss, check_boxes, decode_centernet, decode_fcos, encode_centernet,
                                  encode_fcos, fcos_loss, focal_loss, mean_average_precision, nms)


def random_boxes(n: int, seed: int, size: float = 64.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * size * 0.7
    wh = 2 + torch.rand(n, 2, generator=g) * size * 0.3
    return torch.cat([xy, xy + wh], 1)


def test_box_iou_hand_cases_and_properties():
    a = torch.tensor([[0.0, 0, 4, 4]])
    assert box_area(a).item() == 16
    assert box_iou(a, torch.tensor([[2.0, 2, 6, 6]])).item() == pytest.approx(4 / 28)
    assert box_iou(a, torch.tensor([[4.0, 0, 8, 4]])).item() == 0.0  # touching boxes do not overlap
    b = random_boxes(7, 0)
    m = box_iou(b, b)
    assert torch.allclose(m, m.T) and torch.allclose(m.diagonal(), torch.ones(7)) and (m >= 0).all() and (m <= 1).all()


def test_nms_agrees_with_brute_force():
    boxes, scores = random_boxes(30, 3), torch.rand(30, generator=torch.Generator().manual_seed(4))
    keep = nms(boxes, scores, iou=0.4).tolist()
    expected = []  # the definition: a box survives when no higher-scoring survivor overlaps it by more than 0.4
    for i in scores.argsort(descending=True).tolist():
        if all(box_iou(boxes[i:i + 1], boxes[j:j + 1]).item() <= 0.4 for j in expected):
            expected.append(i)
    assert keep == expected
    assert nms(boxes, scores, iou=1.0).numel() == 30
    with pytest.raises(ValueError, match="iou"):
        nms(boxes, scores, iou=1.5)


def test_check_boxes_errors():
    with pytest.raises(ValueError, match="inverted"):
        check_boxes(torch.tensor([[5.0, 0, 2, 4]]))
    with pytest.raises(ValueError, match="outside"):
        check_boxes(torch.tensor([[0.0, 0, 70, 4]]), size=64)
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        check_boxes(torch.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        check_boxes(torch.tensor([[0.0, 0, float("nan"), 4]]))
    assert check_boxes(np.array([[0, 0, 64, 64]]), size=64).shape == (1, 4)


def test_average_precision_hand_cases():
    gt = [(torch.tensor([[0.0, 0, 10, 10], [20.0, 20, 30, 30]]), torch.tensor([0, 1]))]
    both = [Detections(gt[0][0], torch.tensor([0.9, 0.8]), torch.tensor([0, 1]))]
    assert mean_average_precision(both, gt, classes=3)[0] == 1.0
    _, per_class = mean_average_precision(both, gt, classes=3)
    assert np.isnan(per_class[2])  # no ground truth of class 2: left out of the mean
    swapped = [Detections(gt[0][0], torch.tensor([0.9, 0.8]), torch.tensor([1, 0]))]
    assert mean_average_precision(swapped, gt, classes=2)[0] == 0.0
    shifted = [Detections(gt[0][0] + torch.tensor([6.0, 0, 6, 0]), torch.tensor([0.9, 0.8]), torch.tensor([0, 1]))]
    assert mean_average_precision(shifted, gt, classes=2)[0] == 0.0  # IoU 4/16 < 0.5
    assert mean_average_precision(shifted, gt, classes=2, iou=0.2)[0] == 1.0
    assert average_precision(np.array([0.5, 0.5, 1.0]), np.array([1.0, 0.5, 2 / 3])) == pytest.approx(0.5 + 0.5 * 2 / 3)
    with pytest.raises(ValueError, match="one ground truth per image"):
        mean_average_precision(both, gt * 2, classes=2)


@pytest.mark.parametrize("seed", range(5))
def test_heatmap_encode_decode_recovers_boxes_within_a_pixel(seed):
    g = np.random.default_rng(seed)
    boxes, labels = [], []
    while len(boxes) < 4:  # well-separated boxes: one centre per cell
        x0, y0 = g.uniform(0, 80, 2)
        w, h = g.uniform(6, 30, 2)
        box = torch.tensor([[x0, y0, min(x0 + w, 96), min(y0 + h, 96)]]).float()
        if all(box_iou(box, b[None]).item() == 0 and abs(float((box[0, 0] + box[0, 2] - b[0] - b[2]) / 2)) > 16
               for b in boxes):
            boxes.append(box[0])
            labels.append(int(g.integers(0, 5)))
    boxes_t, labels_t = torch.stack(boxes), torch.tensor(labels)
    t = encode_centernet(boxes_t, labels_t, size=96, stride=8, classes=5)
    assert int(t["mask"].sum()) == 4 and float(t["heat"].max()) == 1.0
    out = {"heat": torch.logit(t["heat"].clamp(1e-4, 1 - 1e-4))[None], "wh": t["wh"][None], "offset": t["offset"][None]}
    det = decode_centernet(out, stride=8, threshold=0.5, nms_iou=0.9)[0]
    assert len(det) == 4
    match = box_iou(det.boxes, boxes_t).argmax(1)
    assert torch.allclose(det.boxes, boxes_t[match], atol=1.0) and torch.equal(det.labels, labels_t[match])


def test_centernet_head_and_losses():
    head = CenterNetHead((32, 96), 4)
    out = head([torch.randn(2, 32, 8, 8), torch.randn(2, 96, 4, 4)])
    assert out["heat"].shape == (2, 4, 8, 8) and (out["wh"] >= 0).all() and ((out["offset"] >= 0) & (out["offset"] <= 1)).all()
    tg = [encode_centernet(torch.tensor([[4.0, 4, 30, 20]]), torch.tensor([1]), size=64, stride=8, classes=4)] * 2
    batch = {k: torch.stack([t[k] for t in tg]) for k in tg[0]}
    loss = centernet_loss(out, batch)
    loss.backward()
    assert torch.isfinite(loss) and head.heat.weight.grad is not None
    perfect = torch.logit(batch["heat"].clamp(1e-4, 1 - 1e-4))
    assert focal_loss(perfect, batch["heat"]) < focal_loss(torch.zeros_like(perfect), batch["heat"])
    with pytest.raises(ValueError, match="labels"):
        encode_centernet(torch.tensor([[4.0, 4, 30, 20]]), torch.tensor([7]), size=64, stride=8, classes=4)


def test_fcos_targets_decode_and_loss():
    boxes = torch.tensor([[8.0, 16, 40, 40], [50.0, 4, 62, 30]])
    t = encode_fcos(boxes, torch.tensor([2, 0]), size=64, stride=8, classes=3)
    assert set(t["cls"].unique().tolist()) == {-1, 0, 2}
    pos = t["cls"] >= 0
    assert ((t["centerness"][pos] > 0) & (t["centerness"][pos] <= 1)).all() and (t["centerness"][~pos] == 0).all()
    head = FCOSHead((32,), 3)
    out = head([torch.randn(1, 32, 8, 8)])
    loss = fcos_loss(out, {k: v[None] for k, v in t.items()}, stride=8)
    assert torch.isfinite(loss)
    assert len(decode_fcos(out, stride=8, threshold=0.99)[0]) == 0  # an untrained head (prior 0.01) detects nothing
    with pytest.raises(ValueError, match="inverted"):
        encode_fcos(torch.tensor([[40.0, 16, 8, 40]]), torch.tensor([0]), size=64, stride=8, classes=3)
    with pytest.raises(ValueError, match="outside"):
        encode_fcos(torch.tensor([[8.0, 16, 80, 40]]), torch.tensor([0]), size=64, stride=8, classes=3)
    with pytest.raises(ValueError, match="labels"):
        encode_fcos(boxes, torch.tensor([2, 3]), size=64, stride=8, classes=3)
    with pytest.raises(ValueError, match="same length"):
        encode_fcos(boxes, torch.tensor([2]), size=64, stride=8, classes=3)
    with pytest.raises(ValueError, match="stride"):
        encode_fcos(boxes, torch.tensor([2, 0]), size=64, stride=7, classes=3)


def test_upsample_stencil_equals_bilinear_and_cpu_path_is_interpolate():
    import torch.nn.functional as F

    from cvkit.core.detection import upsample2_stencil, upsample_to
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 5, 7, generator=g, dtype=torch.float64, requires_grad=True)
    ref = F.interpolate(x, size=(10, 14), mode="bilinear", align_corners=False)
    out = upsample2_stencil(x)
    assert out.shape == (2, 3, 10, 14) and torch.allclose(out, ref, atol=1e-12)
    w = torch.randn(ref.shape, generator=g, dtype=torch.float64)
    g1, = torch.autograd.grad((ref * w).sum(), x)
    g2, = torch.autograd.grad((out * w).sum(), x)
    assert torch.allclose(g1, g2, atol=1e-12)  # the same gradient (its backward is slices and sums)
    y = torch.randn(1, 4, 6, 6, generator=g)
    assert torch.equal(upsample_to(y, (12, 12)), F.interpolate(y, size=(12, 12), mode="bilinear", align_corners=False))
    assert upsample_to(y, (18, 18)).shape == (1, 4, 18, 18)  # other ratios: F.interpolate everywhere
