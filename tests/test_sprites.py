"""The sprite world (`cvkit.core.sprites`): exact masks and boxes, scripts that render as written, captions that are
true and contrast captions that are false, silent audio where nobody sounds, determinism, clear errors, the real Tux
Paint stamps, and cached datasets."""
import numpy as np
import pytest
from PIL import Image

from cvkit.core.chapters import CvkitError
from cvkit.core.data import is_installed
from cvkit.core.sprites import (COLOURS, CONTRAST_KINDS, FPS, MOVE_FRACTION, SAMPLE_RATE, Action, Count, Event,
                                Exists, LayoutRule, Not, Relation, Script, Sequence, SpriteBank, as_dataset,
                                compose_scene, contrast_captions, dataset_key, holds_in_scene, holds_in_script,
                                dark, make_video, object_states, progress, random_script, row_seed)

BANK = SpriteBank.procedural(seed=0)


def naive_composite(scene):
    "Re-draw a scene's objects pixel by pixel from their placed images: the label map (H, W), −1 for background."
    H, W = scene.masks.shape[1:]
    labels = np.full((H, W), -1)
    for k, (rgba, (x0, y0)) in enumerate(zip(scene.placed, scene.offsets)):
        for y in range(rgba.shape[0]):
            for x in range(rgba.shape[1]):
                if rgba[y, x, 3] > 0 and 0 <= y0 + y < H and 0 <= x0 + x < W:
                    labels[y0 + y, x0 + x] = k
    return labels


@pytest.mark.parametrize("seed", range(6))
def test_masks_agree_with_alpha_after_compositing_and_occlusion(seed):
    scene = compose_scene(BANK, n_objects=5, seed=seed, occlusion=0.5, background="photo")
    n = len(scene.sprites)
    for k in range(n):
        alpha = np.zeros(scene.masks.shape[1:], bool)
        rgba, (x0, y0) = scene.placed[k], scene.offsets[k]
        alpha[y0:y0 + rgba.shape[0], x0:x0 + rgba.shape[1]] = rgba[..., 3] == 255
        assert np.array_equal(alpha, scene.amodal[k])
        hidden = scene.amodal[k + 1:].any(axis=0)
        assert np.array_equal(scene.masks[k], alpha & ~hidden)
        # the visible pixels show the sprite's own colours
        ys, xs = np.nonzero(scene.masks[k])
        assert np.array_equal(scene.image[:, ys, xs].T, rgba[ys - y0, xs - x0, :3])
        assert scene.masks[k].sum() >= 0.5 * scene.amodal[k].sum() - 1e-9  # the occlusion limit
    assert not (scene.masks.sum(axis=0) > 1).any()
    labels = naive_composite(scene)
    for k in range(n):
        assert np.array_equal(labels == k, scene.masks[k])


def test_no_occlusion_means_disjoint_objects():
    for seed in range(5):
        scene = compose_scene(BANK, n_objects=4, seed=seed, occlusion=0.0)
        assert np.array_equal(scene.masks, scene.amodal)


@pytest.mark.parametrize("seed", range(4))
def test_boxes_are_tight_bounds_of_the_masks(seed):
    scene = compose_scene(BANK, n_objects=4, seed=seed)
    for m, box in zip(scene.masks, scene.boxes):
        rows, cols = np.nonzero(m)
        assert tuple(box) == (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
    clip = make_video(random_script(BANK, seed=seed, n_objects=3, n_events=4))
    for t in range(clip.frames.shape[0]):
        for i in range(clip.masks.shape[1]):
            m = clip.masks[t, i]
            if m.any():
                rows, cols = np.nonzero(m)
                assert tuple(clip.boxes[t, i]) == (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
            else:
                assert not clip.boxes[t, i].any()


def test_scene_captions_are_true_of_the_image():
    kinds = set()
    for seed in range(30):
        scene = compose_scene(BANK, n_objects=3, seed=seed, background="texture")
        for s in scene.statements:
            ok, why = holds_in_scene(s, scene)
            assert ok, (scene.caption, s, why)
            kinds.add(type(s).__name__)
            if isinstance(s, Relation) and s.other is not None:  # re-check from the masks, not the graph
                pairs = [(i, j) for i, a in enumerate(scene.sprites) for j, b in enumerate(scene.sprites)
                         if s.subject.matches(a) and s.other.matches(b) and i != j]
                ax = [np.nonzero(scene.masks[i].any(0 if s.relation == "left of" else 1))[0] for i, _ in pairs]
                bx = [np.nonzero(scene.masks[j].any(0 if s.relation == "left of" else 1))[0] for _, j in pairs]
                assert any(a.max() < b.min() for a, b in zip(ax, bx))
        assert holds_in_scene(Count(len(scene.sprites)), scene)[0]
        assert not holds_in_scene(Count(len(scene.sprites) + 1), scene)[0]
    assert {"Count", "Exists", "Relation"} <= kinds


def test_layout_rules_and_cooccurrence_groups_hold():
    rules = (LayoutRule("above", "bird", "fish"), LayoutRule("on the ground", "bug"))
    seen_pairs = 0
    for seed in range(25):
        scene = compose_scene(BANK, n_objects=4, seed=seed, rules=rules, groups=[("fish", "bird")])
        nouns = [s.noun for s in scene.sprites]
        assert ("fish" in nouns) == ("bird" in nouns)  # the group appears together, or not at all
        for i, a in enumerate(scene.sprites):
            if a.noun == "bug":
                assert scene.boxes[i, 3] >= 64 - 64 // 8
            for j, b in enumerate(scene.sprites):
                if a.noun == "bird" and b.noun == "fish":
                    seen_pairs += 1
                    assert scene.boxes[i, 3] <= scene.boxes[j, 1]
    assert seen_pairs >= 20


def test_the_same_seed_gives_the_same_world():
    a, b = compose_scene(BANK, 4, seed=7, background="photo"), compose_scene(BANK, 4, seed=7, background="photo")
    assert np.array_equal(a.image, b.image) and np.array_equal(a.masks, b.masks) and a.caption == b.caption
    assert not np.array_equal(a.image, compose_scene(BANK, 4, seed=8, background="photo").image)
    c1 = make_video(random_script(BANK, seed=5), background="texture", seed=5)
    c2 = make_video(random_script(BANK, seed=5), background="texture", seed=5)
    assert np.array_equal(c1.frames, c2.frames) and np.array_equal(c1.audio, c2.audio) and c1.caption == c2.caption
    assert [c.caption for c in contrast_captions(c1.script, 2)] == [c.caption for c in contrast_captions(c2.script, 2)]
    assert SpriteBank.procedural(seed=3, n=20).names == SpriteBank.procedural(seed=3, n=20).names
    assert SpriteBank.procedural(seed=3, n=20).names != SpriteBank.procedural(seed=4, n=20).names


def one_object_script(events, start=(20.0, 32.0), n_frames=16, name="red striped triangle"):
    return Script((BANK.get(name),), (start,), tuple(events), n_frames, 64)


def box_centre(box):
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def test_a_moving_object_box_centre_follows_its_script():
    move = Event("move", 0, 3, 11, direction="right")
    clip = make_video(one_object_script([move]))
    x0, y0 = box_centre(clip.boxes[0, 0])
    for t in range(16):
        expected = x0 + MOVE_FRACTION * 64 * min(1.0, max(0.0, (t - 3 + 1) / 8))
        x, y = box_centre(clip.boxes[t, 0])
        assert abs(x - expected) <= 1.0 and abs(y - y0) <= 0.5, (t, x, expected)
    assert box_centre(clip.boxes[15, 0])[0] - x0 == pytest.approx(MOVE_FRACTION * 64, abs=1.0)
    # a jump goes up and comes back; a move towards another object closes the distance
    jump = make_video(one_object_script([Event("jump", 0, 2, 10)]))
    heights = [box_centre(b)[1] for b in jump.boxes[:, 0]]
    assert min(heights) < heights[0] - 10 and heights[-1] == heights[0]
    two = Script((BANK.get("red striped triangle"), BANK.get("blue circle")), ((12.0, 12.0), (50.0, 50.0)),
                 (Event("move", 0, 0, 8, target=1),), 8, 64)
    c = make_video(two)
    d = [np.hypot(*np.subtract(box_centre(c.boxes[t, 0]), box_centre(c.boxes[t, 1]))) for t in (0, 7)]
    assert d[1] < d[0] - 15


def test_states_follow_the_documented_progress():
    e = Event("grow", 0, 4, 8)
    states = object_states(one_object_script([e]))
    assert [progress(t, e) for t in (3, 4, 7, 9)] == [0.0, 0.25, 1.0, 1.0]
    assert states.scale[3, 0] == 1.0 and states.scale[7, 0] == pytest.approx(1.5)
    appear = object_states(one_object_script([Event("appear", 0, 5, 7), Event("disappear", 0, 10, 12)]))
    assert appear.visible[:, 0].tolist() == [False] * 5 + [True] * 6 + [False] * 5


def test_colour_changes_and_spins_show_in_the_pixels():
    clip = make_video(one_object_script([Event("recolour", 0, 4, 6, colour="green"), Event("spin", 0, 8, 12)]))
    red, green = np.array([215, 40, 40]), np.array([40, 165, 60])
    pixels = lambda t: clip.frames[t][:, clip.masks[t, 0]].T
    assert (pixels(0) == red).all(axis=1).any() and not (pixels(0) == green).all(axis=1).any()
    assert (pixels(5) == green).all(axis=1).any() and not (pixels(5) == red).all(axis=1).any()
    assert not np.array_equal(clip.masks[9, 0], clip.masks[7, 0])


@pytest.mark.parametrize("mode", ["visible", "acting"])
def test_the_audio_track_is_silent_where_no_sound_is_active(mode):
    per_frame = SAMPLE_RATE // FPS
    silent_frames = loud_frames = 0
    for seed in range(8):
        script = random_script(BANK, seed=seed, n_objects=(1, 3), n_events=(2, 4))
        clip = make_video(script, audio=mode)
        assert clip.audio.shape == (16 * per_frame,) and clip.audio.dtype == np.float32
        frames = clip.audio.reshape(16, per_frame)
        quiet = ~clip.sounding.any(axis=1)
        assert np.all(frames[quiet] == 0)
        assert np.all(np.abs(frames[~quiet]).max(axis=1) > 0)
        on_screen = clip.masks.any(axis=(2, 3))
        assert not (clip.sounding & ~on_screen).any()  # nobody is heard without a visible pixel
        if mode == "acting":
            assert np.array_equal(clip.sounding, clip.states.acting & on_screen)
        else:
            assert np.array_equal(clip.sounding, on_screen)
        silent_frames += int(quiet.sum())
        loud_frames += int((~quiet).sum())
    assert loud_frames > 0 and (mode == "visible" or silent_frames > 0)


def test_clip_captions_are_true_and_every_contrast_caption_is_false():
    kinds_seen: dict[str, int] = {}
    for seed in range(40):
        script = random_script(BANK, seed=seed, n_objects=(2, 3), n_events=(2, 4))
        clip = make_video(script)
        for s in clip.statements:
            assert holds_in_script(s, script)[0], (clip.caption, s)
        assert [f for f, _ in clip.narration] == sorted(e.start for e in script.events)
        for c in contrast_captions(script, seed):
            assert c.kind in CONTRAST_KINDS and c.reason
            assert not all(holds_in_script(s, script)[0] for s in c.statements), c.caption
            assert c.caption != clip.caption
            kinds_seen[c.kind] = kinds_seen.get(c.kind, 0) + 1
            # independent checks of what each kind changed, against the script itself
            if c.kind == "count":
                assert c.statements[0].n != len(script.sprites)
            if c.kind == "addition":
                assert not any(c.statements[-1].what.matches(s) for s in script.sprites)
            if c.kind == "negation":
                inner = c.statements[-1].inner
                colours = {e.obj: {script.sprites[e.obj].colour} for e in script.events}
                for e in script.events:
                    colours[e.obj].add(e.colour or script.sprites[e.obj].colour)
                assert any(e.kind == inner.kind and any(inner.subject.matches(script.sprites[e.obj], c)
                                                        for c in colours[e.obj]) for e in script.events)
            if c.kind == "order":
                original, swapped = clip.statements[1].actions, c.statements[1].actions
                assert sorted(map(repr, original)) == sorted(map(repr, swapped)) and original != swapped
    assert set(kinds_seen) == set(CONTRAST_KINDS), kinds_seen


def test_sequence_semantics_on_a_hand_made_script():
    script = one_object_script([Event("jump", 0, 0, 4), Event("spin", 0, 6, 10)])
    tri = BANK.get("red striped triangle").mention
    jump, spin = Action(tri, "jump"), Action(tri, "spin")
    assert holds_in_script(Sequence((jump, spin)), script)[0]
    ok, why = holds_in_script(Sequence((spin, jump)), script)
    assert not ok and "order" in why
    assert not holds_in_script(Not(jump), script)[0] and holds_in_script(Not(Action(tri, "grow")), script)[0]
    assert not holds_in_script(Exists(BANK.get("blue circle").mention), script)[0]


def test_identity_split_and_filters():
    train, test = BANK.split(0.25, seed=1)
    assert not set(train.names) & set(test.names) and len(test) == 96
    assert BANK.split(0.25, seed=2)[1].names != test.names and BANK.split(0.25, seed=1)[1].names == test.names
    shapes = BANK.filter("shape")
    assert set(shapes.categories) == {"shape"} and len(shapes) == 8 * 8 * 4
    with pytest.raises(CvkitError, match="unknown category 'animals'.*creature, shape"):
        BANK.filter("animals")


def test_clear_errors_on_bad_input(tmp_path, monkeypatch):
    with pytest.raises(CvkitError, match="larger than the 16×16 canvas"):
        compose_scene(BANK, 2, seed=0, size=16)
    with pytest.raises(CvkitError, match="references object 3, but the script has 1 objects"):
        make_video(one_object_script([Event("jump", 3, 0, 4)]))
    with pytest.raises(CvkitError, match="towards object 5, which is absent"):
        make_video(one_object_script([Event("move", 0, 0, 4, target=5)]))
    with pytest.raises(CvkitError, match="not inside the clip"):
        make_video(one_object_script([Event("jump", 0, 10, 20)]))
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "flat.png")
    with pytest.raises(CvkitError, match="RGB image without an alpha channel"):
        SpriteBank.from_folder(tmp_path)
    with pytest.raises(CvkitError, match="not a folder"):
        SpriteBank.from_folder(tmp_path / "nowhere")
    monkeypatch.setenv("CVKIT_DATA", str(tmp_path / "empty"))
    with pytest.raises(CvkitError, match="cvkit data install tuxpaint-stamps"):
        SpriteBank.tuxpaint()


def test_from_folder_reads_cutouts_captions_and_sounds(tmp_path):
    import soundfile

    rgba = np.zeros((20, 10, 4), np.uint8)
    rgba[5:15, 2:8] = (200, 30, 30, 255)
    (tmp_path / "toys").mkdir()
    Image.fromarray(rgba).save(tmp_path / "toys" / "red_block.png")
    (tmp_path / "toys" / "red_block.txt").write_text("A red block.\nfr.utf8=Un bloc rouge.\n")
    soundfile.write(tmp_path / "toys" / "red_block.ogg", np.sin(np.arange(22050) / 10).astype(np.float32), 44100)
    bank = SpriteBank.from_folder(tmp_path)
    (s,) = bank.sprites
    assert (s.name, s.category, s.caption) == ("red block", "toys", "A red block")
    assert s.rgba.shape == (10, 6, 4) and s.mask.all()  # cropped to its mask
    assert s.sound.shape[0] == pytest.approx(SAMPLE_RATE / 2, abs=2) and s.speech is None


@pytest.mark.skipif(not is_installed("tuxpaint-stamps"), reason="Tux Paint stamps not installed (CI installs them)")
def test_the_loader_reads_a_real_tux_paint_stamp():
    bank = SpriteBank.tuxpaint(categories="animals", size=48)
    badger = bank.get("badger")
    assert badger.category == "animals" and badger.caption == "A badger"
    mask = badger.mask
    assert 0.2 < mask.mean() < 1.0 and max(badger.rgba.shape[:2]) == 48
    assert set(np.unique(badger.rgba[..., 3])) == {0, 255}
    assert badger.sound is not None and 5 * SAMPLE_RATE < badger.sound.size < 9 * SAMPLE_RATE
    assert badger.speech is not None and 0.5 * SAMPLE_RATE < badger.speech.size < 2 * SAMPLE_RATE
    assert np.abs(badger.sound).max() > 0.05
    full = SpriteBank.tuxpaint(size=24, audio=False)
    assert len(full.categories) == 16 and len(full) > 700
    scene = compose_scene(full.filter("vehicles"), 3, seed=0, size=96, background="photo")
    assert all(holds_in_scene(s, scene)[0] for s in scene.statements)


def test_datasets_are_built_once_and_keyed_by_their_parameters(tmp_path, monkeypatch):
    monkeypatch.setenv("CVKIT_DATA", str(tmp_path))
    ds = as_dataset("scenes", n=4, seed=2)
    assert ds.num_rows == 4 and np.asarray(ds[0]["image"]).shape == (3, 64, 64)
    first = compose_scene(SpriteBank.procedural(seed=0), 3, seed=row_seed(2, "scenes", 0))
    assert np.array_equal(np.asarray(ds[0]["image"], np.uint8), first.image)
    assert np.array_equal(np.asarray(ds[0]["label_map"], np.uint8), first.label_map())
    folders = sorted(p.name for p in (tmp_path / "sprites").iterdir())
    assert len(folders) == 1 and folders[0].startswith("scenes-")
    again = as_dataset("scenes", n=4, seed=2)
    assert again.cache_files and str(tmp_path) in again.cache_files[0]["filename"]
    assert again["caption"] == ds["caption"]
    as_dataset("scenes", n=4, seed=3)
    assert len(list((tmp_path / "sprites").iterdir())) == 2
    params = {"seed": 2, "size": 64, "split": None}
    assert dataset_key("scenes", 4, params) == dataset_key("scenes", 4, dict(params))
    for change in ({"seed": 3}, {"size": 32}, {"split": "test"}):
        assert dataset_key("scenes", 4, {**params, **change}) != dataset_key("scenes", 4, params)
    assert dataset_key("scenes", 5, params) != dataset_key("scenes", 4, params)
    train = as_dataset("scenes", n=6, seed=0, split="train", n_objects=2)
    test = as_dataset("scenes", n=6, seed=1, split="test", n_objects=2)
    assert not {x for row in train["labels"] for x in row} & {x for row in test["labels"] for x in row}
    with pytest.raises(CvkitError, match="unknown sprite source"):
        as_dataset("scenes", n=2, source="lego")
    with pytest.raises(ValueError, match="non-negative int"):
        as_dataset("scenes", n=2, seed=-1)
    clips = as_dataset("clips", n=2, seed=0, n_objects=(2, 2), n_events=(2, 3))
    row = clips[0]
    assert np.asarray(row["frames"]).shape == (16, 3, 64, 64) and len(row["audio"]) == 16 * SAMPLE_RATE // FPS
    assert row["contrasts"] and all(c["reason"] for c in row["contrasts"])
    with pytest.raises(CvkitError, match="unknown dataset kind"):
        as_dataset("sounds", n=1)


def test_cvkit_data_accepts_the_debian_package_name():
    from cvkit.core.data import get_dataset

    assert get_dataset("tuxpaint-stamps-default").name == "tuxpaint-stamps"


def frame_centre(clip, t, i):
    rows, cols = np.nonzero(clip.masks[t, i])
    return (cols.min() + cols.max() + 1) / 2, (rows.min() + rows.max() + 1) / 2


def test_clip_captions_are_true_of_the_frames():
    """Each event of a random script shows in the pixels: the object is on screen while it acts, a move goes the way
    the caption says, a grow or shrink changes the visible area, a spin changes the mask, a recolour the colours."""
    checked: dict[str, int] = {}
    for seed in range(60):
        clip = make_video(random_script(BANK, seed=seed, n_objects=(2, 3), n_events=(2, 4)), background="texture")
        seen = clip.masks.sum(axis=(2, 3))
        for e, action in zip(sorted(clip.events, key=lambda e: e.start), clip.statements[1].actions):
            i, before, last = e.obj, max(e.start - 1, 0), e.end - 1
            span = range(e.start, e.end - 1) if e.kind == "disappear" else range(e.start, e.end)
            assert all(seen[t, i] >= 0.5 * clip.areas[t, i] > 0 for t in span), (seed, e)
            if e.kind == "move" and e.target is None:
                (x0, y0), (x1, y1) = frame_centre(clip, before, i), frame_centre(clip, last, i)
                along = {"left": x0 - x1, "right": x1 - x0, "up": y0 - y1, "down": y1 - y0}[action.detail]
                seen_part = 1 - progress(before, e) if before == e.start else 1.0  # an event at frame 0 starts moved
                assert along >= 0.7 * MOVE_FRACTION * 64 * seen_part, (seed, e, along)
            if e.kind in ("grow", "shrink"):
                ratio = clip.areas[last, i] / clip.areas[before, i]
                assert ratio > 1.5 if e.kind == "grow" else ratio < 0.67
            if e.kind == "spin":
                assert any(clip.areas[t, i] != clip.areas[before, i] or not np.array_equal(
                    clip.masks[t, i].any(0), clip.masks[before, i].any(0)) for t in range(e.start, last))
            if e.kind == "recolour":
                ys, xs = np.nonzero(clip.masks[last, i])
                pixels = clip.frames[last][:, ys, xs].T.astype(float)  # (n, 3); scaled sprites blend their shades
                near = lambda c: np.minimum(np.linalg.norm(pixels - COLOURS[c], axis=1),
                                            np.linalg.norm(pixels - dark(c), axis=1))  # its colour or its shade
                assert (near(e.colour) < near(action.subject.colour)).mean() > 0.5
            if e.kind == "disappear":
                assert seen[e.end - 1:, i].sum() == 0
            if e.kind == "appear":
                assert seen[:e.start, i].sum() == 0
            checked[e.kind] = checked.get(e.kind, 0) + 1
    assert set(checked) == {"appear", "disappear", "move", "jump", "grow", "shrink", "spin", "recolour"}, checked


def test_a_recoloured_object_is_named_by_its_new_colour():
    tri = BANK.get("red striped triangle")
    script = Script((tri,), ((32.0, 32.0),), (Event("recolour", 0, 0, 2, colour="green"), Event("jump", 0, 4, 8)), 10)
    clip = make_video(script)
    assert clip.caption == "One object in all. A red striped triangle turns green, then a green striped triangle jumps."
    assert [line for _, line in clip.narration][1] == "The green striped triangle jumps."
    attribute = [c for c in contrast_captions(script, 0) if c.kind == "attribute"]
    assert all("green striped triangle jumps" not in c.caption for c in attribute)


def test_contrasts_vary_their_words():
    verbs, colours = set(), set()
    for seed in range(80):
        script = random_script(BANK, seed=seed)
        original = clip_words = make_video(script).statements[1].actions
        for c in contrast_captions(script, seed):
            if c.kind in ("action", "attribute"):
                (changed,) = [b for a, b in zip(original, c.statements[1].actions) if a != b]
                if c.kind == "action":
                    verbs.add((changed.kind, changed.detail))
                else:
                    colours.add(changed.subject.colour or changed.subject.texture)
            if c.kind == "object":
                for a in c.statements[1].actions:
                    assert a.target is None or a.target != a.subject  # never "X moves towards X"
    assert len(verbs) >= 6 and len(colours) >= 6, (verbs, colours)


def test_a_move_towards_reads_as_its_direction():
    tri, circle = BANK.get("red striped triangle"), BANK.get("blue circle")
    script = Script((tri, circle), ((12.0, 32.0), (52.0, 32.0)), (Event("move", 0, 0, 6, target=1),), 8)
    clip = make_video(script)
    assert holds_in_script(Action(tri.mention, "move", "right"), script)[0]
    assert not holds_in_script(Action(tri.mention, "move", "left"), script)[0]
    assert [c for c in contrast_captions(script, 0) if c.kind == "action"][0].statements[1].actions[0].detail != "right"
    assert clip.caption.endswith("A red striped triangle moves towards the blue circle.")


def test_scripts_the_frames_cannot_show_are_refused():
    tri, circle = BANK.get("red striped triangle"), BANK.get("blue circle")
    with pytest.raises(CvkitError, match="overlap"):
        make_video(Script((tri, circle), ((12.0, 12.0), (50.0, 50.0)),
                          (Event("jump", 0, 0, 8), Event("spin", 1, 4, 10)), 12))
    with pytest.raises(CvkitError, match="would not show"):  # leaves the canvas while it moves
        make_video(one_object_script([Event("move", 0, 0, 4, direction="left"), Event("jump", 0, 6, 10)],
                                     start=(8.0, 32.0)))
    hidden = Script((tri, circle), ((32.0, 32.0), (32.0, 32.0)), (Event("jump", 0, 0, 2),), 4)
    with pytest.raises(CvkitError, match="would not show"):
        make_video(Script((BANK.get("red striped circle"), BANK.get("blue ring")), ((32.0, 32.0), (32.0, 32.0)),
                          (Event("grow", 0, 0, 4),), 4))
    assert make_video(hidden, strict=False).frames.shape == (4, 3, 64, 64)
    with pytest.raises(CvkitError, match="before it appears"):
        make_video(one_object_script([Event("jump", 0, 0, 2), Event("appear", 0, 4, 6)]))
    with pytest.raises(CvkitError, match="after it disappears"):
        make_video(one_object_script([Event("disappear", 0, 0, 2), Event("jump", 0, 4, 6)]))
    with pytest.raises(CvkitError, match="already red"):
        make_video(one_object_script([Event("recolour", 0, 0, 2, colour="red")]))
    with pytest.raises(CvkitError, match="towards itself"):
        make_video(one_object_script([Event("move", 0, 0, 2, target=0)]))
    big = SpriteBank.procedural(seed=0, n=4, size=60)
    with pytest.raises(CvkitError, match="more than the 64-px canvas"):
        make_video(Script((big[0],), ((32.0, 32.0),), (Event("grow", 0, 0, 4),), 4))


def test_grammar_edge_cases():
    none = make_video(random_script(BANK, seed=0, n_objects=2, n_events=0))
    assert none.caption.startswith("Two objects in all.") and not none.events and none.narration == ()
    many = random_script(SpriteBank.procedural(seed=0, size=10), seed=0, n_objects=10, n_events=3, size=96)
    assert len(many.sprites) == 10
    with pytest.raises(ValueError, match="n_events must be at least 0"):
        random_script(BANK, seed=0, n_events=-1)
    with pytest.raises(ValueError, match="non-negative int"):
        random_script(BANK, seed=-1)
    with pytest.raises(ValueError, match="size must be an int"):
        compose_scene(BANK, 2, seed=0, size=64.0)
    with pytest.raises(ValueError, match="scale must be a range"):
        compose_scene(BANK, 2, seed=0, scale=(0.0, 0.0))
    with pytest.raises(CvkitError, match="'zebra'"):
        compose_scene(BANK, 2, seed=0, rules=[LayoutRule("above", "zebra", "fish")])


def test_captions_never_name_two_objects_alike(tmp_path):
    rgba = np.zeros((12, 12, 4), np.uint8)
    rgba[2:10, 2:10] = (90, 90, 200, 255)
    for folder, stem in (("a", "cat"), ("a", "cat_1"), ("b", "cat"), ("b", "dog")):
        (tmp_path / folder).mkdir(exist_ok=True)
        Image.fromarray(rgba).save(tmp_path / folder / f"{stem}.png")
    bank = SpriteBank.from_folder(tmp_path)
    with pytest.raises(CvkitError, match="too few objects that captions can tell apart"):
        compose_scene(bank, 3, seed=0)
    scene = compose_scene(bank, 2, seed=0)
    assert sorted(s.noun for s in scene.sprites) == ["cat", "dog"]
    plain = compose_scene(BANK.filter("creature"), 4, seed=3)
    for a in plain.sprites:
        assert sum(a.mention.matches(b) for b in plain.sprites) == 1


def test_worlds_are_identical_across_processes():
    import subprocess
    import sys

    code = ("import hashlib, random, numpy as np; random.seed({0}); np.random.seed({0});"
            "from cvkit.core.sprites import SpriteBank, compose_scene, random_script, make_video;"
            "b = SpriteBank.procedural(seed=1); s = compose_scene(b, 4, seed=2, background='photo');"
            "c = make_video(random_script(b, seed=3), 'texture', 3);"
            "print(hashlib.sha256(s.image.tobytes() + c.frames.tobytes() + c.audio.tobytes()"
            " + (s.caption + c.caption).encode()).hexdigest())")
    outs = {subprocess.run([sys.executable, "-c", code.format(k)], capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, "PYTHONHASHSEED": str(k)}).stdout for k in (1, 2)}
    assert len(outs) == 1


# --- time reversal and relation swaps (VideoCon) ---
from cvkit.core.sprites import clip_relations, relation_swap, reverse_script  # noqa: E402

SMALL = SpriteBank.procedural(seed=0, size=14)


@pytest.mark.parametrize("seed", range(6))
def test_reverse_script_is_an_involution_and_matches_the_reversed_frames(seed):
    script = random_script(SMALL, seed=seed, n_objects=(1, 3), n_events=(1, 3), n_frames=12, size=64,
                           kinds=("appear", "disappear", "move", "jump", "grow", "shrink"))
    if any(e.start == 0 or (e.kind == "move" and e.target is not None) for e in script.events):
        with pytest.raises(CvkitError):
            reverse_script(script)
        return
    back = reverse_script(script)
    again = reverse_script(back)  # an involution, up to floating-point rounding of the positions
    assert again.events == script.events and again.sprites == script.sprites and again.scales == script.scales
    assert np.allclose(again.starts, script.starts, atol=1e-9)
    fwd, rev = object_states(script), object_states(back)
    assert np.array_equal(rev.visible, fwd.visible[::-1])
    assert np.allclose(rev.x, fwd.x[::-1], atol=1e-6) and np.allclose(rev.y, fwd.y[::-1], atol=1e-6)
    assert np.allclose(rev.scale, fwd.scale[::-1], atol=1e-6)
    a, b = make_video(script, strict=False), make_video(back, strict=False)
    assert np.abs(b.boxes - a.boxes[::-1]).max() <= 1


def test_reverse_script_swaps_words_and_order_by_hand():
    s = Script((SMALL[0], SMALL[9]), ((16.0, 20.0), (46.0, 44.0)),
               (Event("appear", 1, 1, 3), Event("move", 0, 4, 7, "left"), Event("grow", 1, 8, 11)), n_frames=12)
    r = reverse_script(s)
    assert [(e.kind, e.obj, e.start, e.end, e.direction) for e in r.events] == [
        ("shrink", 1, 2, 5, ""), ("move", 0, 6, 9, "right"), ("disappear", 1, 10, 12, "")]
    assert r.scales is not None and r.scales[1] == pytest.approx(1.5) and r.starts[0][0] == pytest.approx(16.0 - 0.3 * 64)


def test_reverse_script_refuses_what_has_no_exact_reverse():
    base = dict(sprites=(SMALL[0], SMALL[9]), starts=((16.0, 20.0), (46.0, 44.0)), n_frames=12)
    for event in (Event("spin", 0, 2, 6), Event("recolour", 0, 2, 6, colour="blue"), Event("move", 0, 2, 6, target=1),
                  Event("jump", 0, 0, 4)):
        with pytest.raises(CvkitError):
            reverse_script(Script(events=(event,), **base))
    with pytest.raises(CvkitError, match="scales"):
        object_states(Script(events=(), scales=(1.0,), **base))


def test_relations_come_from_the_boxes_and_the_swap_is_false():
    s = Script((SMALL[0], SMALL[9]), ((14.0, 24.0), (48.0, 50.0)), (Event("grow", 1, 2, 6),), n_frames=8)
    clip = make_video(s)
    facts = clip_relations(clip, 0)
    names = {(f.subject.noun, f.relation, f.other.noun) for f in facts}
    assert (SMALL[0].noun, "left of", SMALL[9].noun) in names and (SMALL[0].noun, "above", SMALL[9].noun) in names
    true, contrast = relation_swap(clip, seed=0)
    assert true in facts and contrast.kind == "relation" and contrast.statements[0] not in facts
    assert contrast.statements[0].subject == true.other and "on frame 0" in contrast.reason


def test_relation_swap_needs_two_objects():
    clip = make_video(Script((SMALL[0],), ((30.0, 30.0),), (Event("jump", 0, 2, 6),), n_frames=8))
    with pytest.raises(CvkitError, match="two visible objects"):
        relation_swap(clip)
    with pytest.raises(CvkitError, match="outside"):
        clip_relations(clip, 20)
