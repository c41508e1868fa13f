"""cvkit.core.motion: skeletons, forward kinematics, the BVH reader (hand-made and real captures), StickMotion."""
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from cvkit.core.motion import (ACTIONS, STICK_PARENTS, BVHFormatError, Skeleton, forward_kinematics, generate_clip,
                               generate_dataset, has_rest_frame, motion_strip, read_bvh, stick_skeleton,
                               without_rest_frame)
from conftest import ROOT


ARM = Skeleton(("a", "b", "c"), (-1, 0, 1), np.array([[0, 0, 0], [1.0, 0, 0], [0, 2.0, 0]]))


def test_skeleton_validation():
    assert ARM.num_joints == 3 and ARM.index("c") == 2
    assert np.allclose(ARM.bone_lengths(), [0, 1, 2])
    with pytest.raises(KeyError, match="no joint named"):
        ARM.index("z")
    with pytest.raises(ValueError, match="parents must come before"):
        Skeleton(("a", "b"), (-1, 1), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="only root"):
        Skeleton(("a", "b"), (-1, -1), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="offsets of shape"):
        Skeleton(("a", "b"), (-1, 0), np.zeros((3, 3)))


def test_fk_hand_computed():
    rng = np.random.default_rng(0)
    R = Rotation.random(2 * 3, random_state=1).as_matrix().reshape(2, 3, 3, 3)
    root = rng.normal(size=(2, 3))
    pos = forward_kinematics(ARM, R, root)
    for t in range(2):  # the recursion written out for this chain
        assert np.allclose(pos[t, 0], root[t])
        assert np.allclose(pos[t, 1], root[t] + R[t, 0] @ [1, 0, 0])
        assert np.allclose(pos[t, 2], pos[t, 1] + R[t, 0] @ R[t, 1] @ [0, 2, 0])
    with pytest.raises(ValueError, match=r"\(T, 3, 3, 3\)"):
        forward_kinematics(ARM, np.zeros((2, 2, 3, 3)), root)
    with pytest.raises(ValueError, match="root_positions"):
        forward_kinematics(ARM, R, np.zeros((3, 3)))


def test_fk_preserves_bone_lengths_and_is_rotation_equivariant():
    rng = np.random.default_rng(2)
    sk = stick_skeleton()
    T = 5
    R = Rotation.random(T * sk.num_joints, random_state=3).as_matrix().reshape(T, sk.num_joints, 3, 3)
    pos = forward_kinematics(sk, R, rng.normal(size=(T, 3)))
    lengths = np.linalg.norm(pos[:, 1:] - pos[:, list(sk.parents[1:])], axis=2)
    assert np.allclose(lengths, sk.bone_lengths()[1:])
    Q = Rotation.random(random_state=4).as_matrix()
    R2 = R.copy()
    R2[:, 0] = Q @ R[:, 0]  # rotating the root rotates the whole body about it
    root = np.zeros((T, 3))
    assert np.allclose(forward_kinematics(sk, R2, root), forward_kinematics(sk, R, root) @ Q.T)


BVH = """HIERARCHY
ROOT hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT knee
  {
    OFFSET 0 -1 0
    CHANNELS 3 Xrotation Yrotation Zrotation
    End Site
    {
      OFFSET 0 -1 0
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.04
0 0 0 0 0 0 0 0 0
1 2 3 0 90 0 0 0 0
0 0 0 0 0 0 90 0 0
"""


def test_bvh_hand_made(tmp_path):
    (tmp_path / "a.bvh").write_text(BVH)
    m = read_bvh(tmp_path / "a.bvh")
    assert m.skeleton.names == ("hips", "knee", "knee_end") and m.fps == 25.0 and m.frames.shape == (3, 9)
    pos = m.positions()
    assert np.allclose(pos[0], [[0, 0, 0], [0, -1, 0], [0, -2, 0]])
    # frame 1: root translated and pitched 90° about x: the leg swings from -y to -z
    assert np.allclose(pos[1], [[1, 2, 3], [1, 2, 2], [1, 2, 1]])
    # frame 2: only the knee pitched: the shin alone swings
    assert np.allclose(pos[2], [[0, 0, 0], [0, -1, 0], [0, -1, -1]])


def test_bvh_order_of_channels_matters(tmp_path):
    """Angles apply in the listed order about moving axes: R = Rz · Ry for 'Zrotation Yrotation'."""
    text = BVH.replace("CHANNELS 3 Xrotation Yrotation Zrotation", "CHANNELS 3 Zrotation Yrotation Xrotation")
    text = text.replace("0 0 0 0 0 0 90 0 0", "0 0 0 0 0 0 90 90 0")
    (tmp_path / "b.bvh").write_text(text)
    pos = read_bvh(tmp_path / "b.bvh").positions()
    expected = Rotation.from_euler("ZYX", [90, 90, 0], degrees=True).as_matrix() @ [0, -1, 0]
    assert np.allclose(pos[2, 2] - pos[2, 1], expected)


@pytest.mark.parametrize("content,message", [
    ("nothing here", "not a BVH file"),
    (BVH.replace("Frames: 3", "Frames: 4"), "4 frames × 9 channels promised"),
    (BVH + "1 2\n", "3 frames × 9 channels promised"),
    (BVH.replace("OFFSET 0 -1 0\n    CHANNELS", "OFSET 0 -1 0\n    CHANNELS"), "unexpected token"),
    (BVH.replace("Frame Time: 0.04", "Frame Time: 0"), "frame time must be a positive"),
    (BVH.replace("Frames: 3", "Frames: three"), "malformed BVH"),
    (BVH.replace("Frames: 3", "Frames: -3"), "negative number of frames"),
    (BVH.replace("Frames: 3", "Frame: 3"), "MOTION header must read"),
    (BVH.replace("Frame Time: 0.04", "FrameTime: 0.04"), "MOTION header must read"),
    (BVH.replace("Frame Time: 0.04", "Frame Rate: 0.04"), "MOTION header must read"),
    (BVH.replace("Frame Time: 0.04", "Frame Time: nan"), "frame time must be a positive"),
    (BVH.replace("MOTION\n", ""), "malformed BVH|unexpected token"),
    (BVH.replace("    CHANNELS 3 Xrotation Yrotation Zrotation\n", "").replace(
        "  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n", ""), "declares no CHANNELS"),
    (BVH.replace("1 2 3 0 90 0 0 0 0", "1 2 3 0 nan 0 0 0 0"), "NaN or infinite"),
])
def test_bvh_errors(tmp_path, content, message):
    (tmp_path / "bad.bvh").write_text(content)
    with pytest.raises(BVHFormatError, match=message):
        read_bvh(tmp_path / "bad.bvh")


def test_bvh_extra_frame_is_dropped_with_a_warning(tmp_path):
    (tmp_path / "x.bvh").write_text(BVH + "0 0 0 0 0 0 0 0 0\n")
    with pytest.warns(UserWarning, match="header says 3"):
        m = read_bvh(tmp_path / "x.bvh")
    assert m.frames.shape == (3, 9)


def test_rest_frame_is_detected_and_dropped(tmp_path):
    # BVH's frame 0 has the root's rotation at exactly 0 and frame 1 does not: an exporter's rest pose
    (tmp_path / "r.bvh").write_text(BVH)
    m = read_bvh(tmp_path / "r.bvh")
    assert has_rest_frame(m)
    trimmed = without_rest_frame(m)
    assert trimmed.frames.shape == (2, 9) and np.array_equal(trimmed.frames, m.frames[1:])
    assert not has_rest_frame(trimmed.__class__(m.skeleton, m.channels, m.frames[[1, 1, 2]], m.frame_time))
    static = BVH.replace("1 2 3 0 90 0 0 0 0", "1 2 3 0 0 0 0 0 0")  # root never rotates: nothing to drop
    (tmp_path / "s.bvh").write_text(static)
    m2 = read_bvh(tmp_path / "s.bvh")
    assert not has_rest_frame(m2) and without_rest_frame(m2) is m2


def test_bvh_missing(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_bvh(tmp_path / "none.bvh")


@pytest.mark.parametrize("name,frames,fps", [("01_01.bvh", 2752, 120), ("01_03.bvh", 4511, 120),
                                             ("Boxing_Toes.bvh", 3069, 100)])
def test_real_captures(name, frames, fps):
    from cvkit.core.data import find_file

    path = find_file("assimp-bvh", f"usr/share/assimp/models/BVH/{name}")  # `cvkit data install assimp-bvh`
    if path is None:
        pytest.skip("the motion captures are not installed (`cvkit data install assimp-bvh`)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the boxing file carries one frame more than its header says
        m = read_bvh(path)
    assert len(m.frames) == frames and round(m.fps) == fps
    assert has_rest_frame(m) == name.startswith("01_")  # CMU's converter writes a T-pose before the capture
    pos = m.positions()
    assert pos.shape == (frames, m.skeleton.num_joints, 3) and np.all(np.isfinite(pos))
    lengths = np.linalg.norm(pos[:, 1:] - pos[:, list(m.skeleton.parents[1:])], axis=2)
    assert lengths.std(axis=0).max() < 1e-6  # rigid bones through FK
    speed = np.linalg.norm(np.diff(pos[:, 0], axis=0), axis=1) * m.fps
    assert np.median(speed) < 500  # root speed in file units per second: human, not exploding


def test_every_action_is_rigid_grounded_seeded_and_described():
    for action in ACTIONS:
        clip = generate_clip(action, 50, seed=3)
        sk = clip.skeleton
        assert clip.positions.shape == (50, 16, 3) and clip.text in ACTIONS[action]
        lengths = np.linalg.norm(clip.positions[:, 1:] - clip.positions[:, list(sk.parents[1:])], axis=2)
        assert np.allclose(lengths, sk.bone_lengths()[1:])
        feet = clip.positions[:, [sk.index("l_foot"), sk.index("r_foot")], 1].min(axis=1)
        if action != "jump":
            assert np.allclose(feet, 0)
        assert np.array_equal(clip.positions, generate_clip(action, 50, seed=3).positions)
    assert not np.array_equal(generate_clip("walk forward", 50, seed=1).positions,
                              generate_clip("walk forward", 50, seed=2).positions)


def test_actions_do_what_their_names_say():
    c = {a: generate_clip(a, 60, seed=5) for a in ACTIONS}
    sk = c["idle"].skeleton
    i = sk.index
    z = lambda a: c[a].positions[:, 0, 2]
    assert z("walk forward")[-1] - z("walk forward")[0] > 0.5 and z("walk backward")[-1] - z("walk backward")[0] < -0.5
    assert (c["wave right"].positions[:, i("r_hand"), 1] > c["wave right"].positions[:, i("head"), 1]).any()
    assert not (c["wave right"].positions[:, i("l_hand"), 1] > c["wave right"].positions[:, i("head"), 1]).any()
    assert (c["wave left"].positions[:, i("l_hand"), 1] > c["wave left"].positions[:, i("head"), 1]).any()
    assert c["jump"].positions[:, [i("l_foot"), i("r_foot")], 1].min(axis=1).max() > 0.2
    assert c["squat"].positions[:, 0, 1].min() < c["squat"].positions[0, 0, 1] - 0.2
    assert c["kick"].positions[:, i("r_foot"), 1].max() > 0.4 > c["kick"].positions[:, i("l_foot"), 1].max()
    facing = c["turn left"].positions[-1, i("l_hip")] - c["turn left"].positions[-1, i("r_hip")]  # left-pointing vector
    assert facing[2] < -0.1  # after a left quarter turn, the body's left points backward (−z)
    assert np.ptp(c["idle"].positions[:, 0], axis=0).max() < 0.05


def test_dataset_and_bad_input():
    data = generate_dataset(20, seed=0, frames=(40, 50))
    assert len(data) == 20 and {d.action for d in data} == set(ACTIONS)
    assert all(40 <= len(d.positions) <= 50 for d in data)
    with pytest.raises(ValueError, match="unknown action"):
        generate_clip("moonwalk")
    with pytest.raises(ValueError, match="at least 4"):
        generate_clip("jump", 3)
    with pytest.raises(ValueError):
        generate_dataset(0)
    with pytest.raises(ValueError, match="4 <= lo <= hi"):
        generate_dataset(3, frames=(10, 5))


def test_motion_strip():
    clip = generate_clip("walk forward", 40, seed=0)
    fig = motion_strip(clip.positions, STICK_PARENTS, num_frames=5)
    assert len(fig.axes[0].lines) == 5 * 15 + 1  # 15 bones per pose, plus the ground line
    plt.close(fig)
    with pytest.raises(ValueError, match="view"):
        motion_strip(clip.positions, STICK_PARENTS, view="top")
    with pytest.raises(ValueError, match="positions must have shape"):
        motion_strip(clip.positions[:, :3], STICK_PARENTS)


def test_bvh_translated_joints_replace_their_offset(tmp_path):
    text = BVH.replace("CHANNELS 3 Xrotation Yrotation Zrotation", "CHANNELS 6 Xposition Yposition Zposition Xrotation Yrotation Zrotation")
    text = text.replace("0 0 0 0 0 0 0 0 0\n1 2 3 0 90 0 0 0 0\n0 0 0 0 0 0 90 0 0\n",
                        "0 0 0 0 0 0 0 -1 0 0 0 0\n0 0 0 0 0 0 0.5 -2 0 0 0 0\n0 0 0 0 0 0 0 -1 0 90 0 0\n")
    (tmp_path / "t.bvh").write_text(text)
    pos = read_bvh(tmp_path / "t.bvh").positions()
    assert np.allclose(pos[0, 1], [0, -1, 0]) and np.allclose(pos[1, 1], [0.5, -2, 0])
    assert np.allclose(pos[2, 2], [0, -1, -1])


# ---- capsule bodies (point-cloud sequences) and BVH → 16 joints
from cvkit.core.motion import (STICK_CAPSULES, STICK_NAMES, body_clouds, body_forward, bvh_to_stick, capsule_areas,
                               capsule_segments, resample_frames, sample_surface, stick_joint_map)


def _segment_distance(p, A, B):
    ab = B - A
    s = np.clip(((p[:, None] - A) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0, 1)
    return np.linalg.norm(p[:, None] - (A + s[..., None] * ab), axis=-1)


def test_body_samples_lie_on_their_capsules_and_follow_area():
    pos = generate_clip("squat", 8, seed=2).positions
    A, B = capsule_segments(pos)
    radii = np.array([c.radius for c in STICK_CAPSULES])
    clouds = body_clouds(pos, 3000, rng=np.random.default_rng(0))
    assert clouds.shape == (8, 3000, 3)
    d = np.abs(_segment_distance(clouds[4], A[4], B[4]) - radii)
    assert d.min(axis=1).max() < 1e-9
    counts = np.bincount(d.argmin(axis=1), minlength=len(radii))
    expected = 3000 * capsule_areas(np.linalg.norm(B[4] - A[4], axis=1), radii)
    expected /= capsule_areas(np.linalg.norm(B[4] - A[4], axis=1), radii).sum() / 1.0
    assert np.all(np.abs(counts - expected) < 4 * np.sqrt(expected) + 3)
    noisy = body_clouds(pos, 3000, rng=np.random.default_rng(0), noise=0.01)
    dn = np.abs(_segment_distance(noisy[4], A[4], B[4]) - radii).min(axis=1)
    assert 0.003 < dn.mean() < 0.02  # off the surface by about the noise


def test_fixed_mode_corresponds_and_fresh_does_not():
    pos = generate_clip("wave right", 6, seed=1).positions
    A, B = capsule_segments(pos)
    radii = np.array([c.radius for c in STICK_CAPSULES])
    fixed = body_clouds(pos, 200, rng=np.random.default_rng(0), mode="fixed")
    caps = [np.abs(_segment_distance(fixed[t], A[t], B[t]) - radii).argmin(axis=1) for t in range(6)]
    assert all(np.array_equal(caps[0], c) for c in caps)
    # the relative position along the capsule is preserved: distance to the capsule's start joint stays constant
    torso = [c.name for c in STICK_CAPSULES].index("torso")
    on_torso = caps[0] == torso
    rel = [np.linalg.norm(fixed[t][on_torso] - A[t, torso], axis=1) for t in range(6)]
    assert np.allclose(rel[0], rel[-1], atol=1e-3)  # the torso bends a little (spine), so not exact
    fresh = body_clouds(pos, 200, rng=np.random.default_rng(0))
    assert not np.allclose(fresh[0], fresh[1])


def test_visible_side_and_forward_foot():
    pos = generate_clip("idle", 4, seed=0).positions
    fwd = body_forward(pos)
    assert np.allclose(fwd, [0, 0, 1], atol=0.05)  # the rest pose faces +z
    A, B = capsule_segments(pos)
    toes = [c.name for c in STICK_CAPSULES].index("l_toes")
    assert (B[:, toes] - A[:, toes])[:, 2].min() > 0.1
    vis = body_clouds(pos, 300, rng=np.random.default_rng(0), visible_from=np.array([0, 0, 1.0]))
    front = body_clouds(pos, 300, rng=np.random.default_rng(0))
    assert vis[0, :, 2].mean() > front[0, :, 2].mean()  # only the side facing the camera


def test_sampling_bad_inputs():
    pos = generate_clip("idle", 4, seed=0).positions
    with pytest.raises(ValueError, match="mode"):
        body_clouds(pos, 10, rng=np.random.default_rng(0), mode="other")
    with pytest.raises(ValueError, match="num_points"):
        body_clouds(pos, 0, rng=np.random.default_rng(0))
    bad = pos.copy()
    bad[1, 3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        body_clouds(bad, 10, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="StickMotion"):
        body_forward(np.zeros((3, 5, 3)))
    with pytest.raises(ValueError, match="positive integer"):
        sample_surface(np.ones(2), np.ones(2), 0, np.random.default_rng(0))


def test_bvh_mapping_lists_missing_joints_and_maps_real_captures():
    with pytest.raises(ValueError, match="no joint found for: pelvis"):
        stick_joint_map(ARM)
    assert np.allclose(resample_frames(np.arange(6.0).reshape(6, 1, 1), 100.0, 50.0)[:, 0, 0], [0, 2, 4])
    from cvkit.core.data import find_file
    for name in ("01_01.bvh", "Boxing_Toes.bvh"):
        path = find_file("assimp-bvh", f"usr/share/assimp/models/BVH/{name}")
        if path is None:
            pytest.skip("assimp-bvh not installed")
        motion = read_bvh(path)
        pos = bvh_to_stick(motion)
        assert pos.shape[1:] == (16, 3) and abs(len(pos) - len(motion.frames) * 20 / motion.fps) <= 1
        leg = np.linalg.norm(pos[:, STICK_NAMES.index("l_hip")] - pos[:, STICK_NAMES.index("l_knee")], axis=1)
        assert 0.3 < leg.mean() < 0.55
        clouds = body_clouds(pos[:10], 100, rng=np.random.default_rng(0))
        assert np.isfinite(clouds).all()
