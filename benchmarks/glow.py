"""GLOW: the chapter's two reference comparisons.

1. Our targeted L∞ PGD (`cvkit.papers.glow.pgd_attack`) against adversarial-robustness-toolbox's
   `ProjectedGradientDescent` on the ImageNet MobileNetV2 classifier (inputs in [0, 1], normalisation inside the
   model), with the same ε, step size, number of steps, no random start and the same target classes. Time per attack
   step, targeted success of each and the largest pixel difference between the two adversarial images.
2. Our VOC all-point mAP@0.5 (`cvkit.core.detection.mean_average_precision`) against pycocotools' `COCOeval` AP at
   IoU 0.5 on the same random detections. COCO interpolates precision at 101 recall points where VOC uses every
   point, so the two differ slightly by definition; the quality column gives the difference. Both reference
   libraries are dev extras: a missing one leaves its row out.
"""
import importlib.util

import numpy as np
import torch
from torch import nn

from benchmarks.common import BenchmarkRow, fastest
from cvkit.core.backbones import IMAGENET_MEAN, IMAGENET_STD, load_mobilenet_v2
from cvkit.core.detection import Detections, mean_average_precision
from cvkit.papers.glow import pgd_attack


class NormalisedClassifier(nn.Module):
    """MobileNetV2 on (B, 3, H, W) images in [0, 1]: the ImageNet normalisation happens inside, so an attack's ε
    is in pixel units for both libraries."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model((x - self.mean) / self.std)


def pgd_rows(quick: bool) -> list[BenchmarkRow]:
    """Our PGD against ART's on a few random-texture images, each pushed towards a random ImageNet class."""
    if importlib.util.find_spec("art") is None:
        return []
    from art.attacks.evasion import ProjectedGradientDescent
    from art.estimators.classification import PyTorchClassifier

    size, n, steps, eps = (64, 2, 3, 8 / 255) if quick else (128, 4, 10, 8 / 255)
    alpha = 2.5 * eps / steps  # the chapter's step size rule
    net = NormalisedClassifier(load_mobilenet_v2()).eval()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 3, size, size, generator=g)
    target = torch.randint(0, 1000, (n,), generator=g)

    def ours() -> torch.Tensor:
        return pgd_attack(x, lambda z: nn.functional.cross_entropy(net(z), target, reduction="none"), eps=eps,
                          steps=steps, step_size=alpha)

    classifier = PyTorchClassifier(model=net, loss=nn.CrossEntropyLoss(), input_shape=(3, size, size),
                                   nb_classes=1000, clip_values=(0.0, 1.0), device_type="cpu")
    attack = ProjectedGradientDescent(classifier, norm=np.inf, eps=eps, eps_step=alpha, max_iter=steps, targeted=True,
                                      num_random_init=0, batch_size=n, verbose=False)
    onehot = np.eye(1000, dtype=np.float32)[target.numpy()]

    def theirs() -> np.ndarray:
        return attack.generate(x=x.numpy(), y=onehot)

    adv_ours, adv_art = ours(), torch.from_numpy(theirs())
    with torch.no_grad():
        hit_ours = float((net(adv_ours).argmax(-1) == target).float().mean())
        hit_art = float((net(adv_art).argmax(-1) == target).float().mean())
    delta = float((adv_ours - adv_art).abs().max())
    repeats = 1 if quick else 2
    return [BenchmarkRow(
        chapter="glow", case=f"PGD {steps} steps {size}² ×{n}", reference="ART ProjectedGradientDescent",
        ours_s=fastest(ours, repeats) / steps, reference_s=fastest(theirs, repeats) / steps,
        quality=f"targeted hits {hit_ours:.2f} vs {hit_art:.2f}; max |Δ| {delta:.1e} (of ε {eps:.3f})")]


def random_detections(n_images: int, classes: int, rng: np.random.Generator
                      ) -> tuple[list[Detections], list[tuple[torch.Tensor, torch.Tensor]]]:
    """Ground-truth boxes per image and noisy detections of them (jittered, some missed, some false alarms)."""
    dets, truths = [], []
    for _ in range(n_images):
        m = int(rng.integers(1, 6))
        xy = rng.uniform(0, 80, (m, 2))
        wh = rng.uniform(10, 40, (m, 2))
        boxes = np.concatenate([xy, xy + wh], 1)
        labels = rng.integers(0, classes, m)
        keep = rng.random(m) > 0.2
        found = boxes[keep] + rng.normal(0, 3, (int(keep.sum()), 4))
        found_labels = labels[keep]
        k = int(rng.integers(0, 3))  # false alarms
        fxy = rng.uniform(0, 80, (k, 2))
        fake = np.concatenate([fxy, fxy + rng.uniform(10, 40, (k, 2))], 1)
        all_boxes = np.concatenate([found, fake]).astype(np.float32)
        all_boxes[:, 2:] = np.maximum(all_boxes[:, 2:], all_boxes[:, :2] + 1)
        dets.append(Detections(torch.from_numpy(all_boxes), torch.from_numpy(rng.random(len(all_boxes)).astype(np.float32)),
                               torch.from_numpy(np.concatenate([found_labels, rng.integers(0, classes, k)])).long()))
        truths.append((torch.from_numpy(boxes.astype(np.float32)), torch.from_numpy(labels).long()))
    return dets, truths


def coco_ap50(dets: list[Detections], truths: list[tuple[torch.Tensor, torch.Tensor]], classes: int) -> float:
    """pycocotools' AP at IoU 0.5 (all areas, up to 100 detections per image) on the same boxes."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images = [{"id": i, "width": 128, "height": 128} for i in range(len(truths))]
    annotations, results = [], []
    for i, (boxes, labels) in enumerate(truths):
        for b, c in zip(boxes.tolist(), labels.tolist()):
            annotations.append({"id": len(annotations) + 1, "image_id": i, "category_id": c, "iscrowd": 0,
                                "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]], "area": (b[2] - b[0]) * (b[3] - b[1])})
    for i, d in enumerate(dets):
        for b, s, c in zip(d.boxes.tolist(), d.scores.tolist(), d.labels.tolist()):
            results.append({"image_id": i, "category_id": c, "score": s, "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]]})
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        gt = COCO()
        gt.dataset = {"images": images, "annotations": annotations, "categories": [{"id": c} for c in range(classes)]}
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(results), "bbox")
        ev.params.iouThrs = np.array([0.5])
        ev.evaluate(); ev.accumulate(); ev.summarize()
    return float(ev.stats[0])


def map_rows(quick: bool) -> list[BenchmarkRow]:
    """Our mAP@0.5 against COCOeval's AP50 on random detections."""
    if importlib.util.find_spec("pycocotools") is None:
        return []
    classes = 8
    dets, truths = random_detections(50 if quick else 400, classes, np.random.default_rng(0))
    ours_map = mean_average_precision(dets, truths, classes=classes)[0]
    coco = coco_ap50(dets, truths, classes)
    repeats = 1 if quick else 3
    return [BenchmarkRow(
        chapter="glow", case=f"mAP@0.5 {len(truths)} images", reference="pycocotools COCOeval AP50",
        ours_s=fastest(lambda: mean_average_precision(dets, truths, classes=classes), repeats),
        reference_s=fastest(lambda: coco_ap50(dets, truths, classes), repeats),
        quality=f"VOC all-point {ours_map:.4f} vs COCO 101-point {coco:.4f}, |Δ| {abs(ours_map - coco):.4f}")]


def run(quick: bool = False) -> list[BenchmarkRow]:
    """The PGD row (ART installed) and the mAP row (pycocotools installed)."""
    return pgd_rows(quick) + map_rows(quick)
