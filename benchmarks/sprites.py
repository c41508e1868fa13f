"""The sprite world: vectorised compositing (`cvkit.core.sprites.paste`) against a naive per-pixel Python loop, on the
same layouts, with the generator's throughput in scenes and clips per minute (the issue's targets: 2,000 scenes of
64×64 and 200 clips of 16 frames a minute on one core)."""
import time

import numpy as np

from benchmarks.common import BenchmarkRow, fastest
from cvkit.core.sprites import (SpriteBank, compose_scene, make_background, make_video, object_states, paste,
                                posed_image, random_script)
from cvkit.core.claims import numpy_stream


def paste_naive(canvas: np.ndarray, labels: np.ndarray, rgba: np.ndarray, x0: int, y0: int, index: int) -> None:
    """The reference: the same operation as `paste`, one pixel at a time."""
    H, W = labels.shape
    for y in range(rgba.shape[0]):
        for x in range(rgba.shape[1]):
            if rgba[y, x, 3] > 0 and 0 <= y0 + y < H and 0 <= x0 + x < W:
                canvas[y0 + y, x0 + x] = rgba[y, x, :3]
                labels[y0 + y, x0 + x] = index


def scene_image(scene, background: np.ndarray, paste_fn=paste) -> np.ndarray:
    """A scene's image re-drawn from its placed sprites with `paste_fn` (ours or the loop): (3, H, W) uint8."""
    canvas, labels = background.copy(), np.full(background.shape[:2], -1)
    for k, (rgba, (x0, y0)) in enumerate(zip(scene.placed, scene.offsets)):
        paste_fn(canvas, labels, rgba, int(x0), int(y0), k)
    return canvas.transpose(2, 0, 1)


def naive_clip_frames(script, background: np.ndarray) -> np.ndarray:
    """A clip's frames re-drawn with the per-pixel loop from the same states: (T, 3, H, W) uint8."""
    states = object_states(script)
    T, N = states.visible.shape
    frames = np.empty((T, 3) + background.shape[:2], np.uint8)
    for t in range(T):
        canvas, labels = background.copy(), np.full(background.shape[:2], -1)
        for i, sprite in enumerate(script.sprites):
            if states.visible[t, i]:
                im = posed_image(sprite, round(float(states.scale[t, i]), 3), round(float(states.angle[t, i]), 1),
                                 states.colour[t, i])
                h, w = im.shape[:2]
                paste_naive(canvas, labels, im, int(round(states.x[t, i] - w / 2)), int(round(states.y[t, i] - h / 2)), i)
        frames[t] = canvas.transpose(2, 0, 1)
    return frames


def per_minute(fn, n: int) -> float:
    """How many calls of fn(k), k = 0..n−1, fit in a minute, measured on n calls."""
    start = time.perf_counter()
    for k in range(n):
        fn(k)
    return n / (time.perf_counter() - start) * 60


def run(quick: bool = False) -> list[BenchmarkRow]:
    """Drawing a scene and rendering a clip: ours against the per-pixel loop on the same layout (identical pixels
    required); the quality column also gives the whole generator's throughput (placement, captions and audio)."""
    bank = SpriteBank.procedural(seed=0)
    repeats, n_rate = (2, 30) if quick else (5, 300)
    rows = []
    scene = compose_scene(bank, 3, seed=1, background="photo")
    background = make_background("photo", 64, 64, numpy_stream(1, "background"))
    same = np.array_equal(scene_image(scene, background, paste_naive), scene.image)
    same = same and np.array_equal(scene_image(scene, background), scene.image)
    rate = per_minute(lambda k: compose_scene(bank, 3, seed=k, background="photo"), n_rate)
    rows.append(BenchmarkRow(
        chapter="sprites", case="draw scene 64² ×3 obj.", reference="per-pixel Python loop",
        ours_s=fastest(lambda: scene_image(scene, background), repeats),
        reference_s=fastest(lambda: scene_image(scene, background, paste_naive), repeats),
        quality=f"{'identical' if same else 'DIFFERENT'} pixels; {rate:,.0f} scenes/min (target 2,000)"))
    script = random_script(bank, seed=1, n_objects=3, n_events=4)
    clip = make_video(script, background="photo", seed=1)
    clip_bg = make_background("photo", 64, 64, numpy_stream(1, "clip background"))
    same = np.array_equal(naive_clip_frames(script, clip_bg), clip.frames)
    rate = per_minute(lambda k: make_video(random_script(bank, seed=k, n_objects=3, n_events=4), "photo", k),
                      max(10, n_rate // 10))
    rows.append(BenchmarkRow(
        chapter="sprites", case="render clip 16×64² ×3", reference="per-pixel Python loop",
        ours_s=fastest(lambda: make_video(random_script(bank, seed=1, n_objects=3, n_events=4), "photo", 1), repeats),
        reference_s=fastest(lambda: naive_clip_frames(script, clip_bg), repeats),
        quality=f"{'identical' if same else 'DIFFERENT'} frames; {rate:,.0f} clips/min (target 200)"))
    return rows
