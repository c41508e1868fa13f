import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from cvkit.core.display import (explore, image_grid, plot_curves, plot_mesh, plot_point_cloud, plot_skeleton_sequence,
                                static_sweep, to_numpy_image)


def test_to_numpy_image_shapes():
    assert to_numpy_image(torch.zeros(3, 4, 5)).shape == (4, 5, 3)
    assert to_numpy_image(torch.zeros(1, 4, 5)).shape == (4, 5)
    assert to_numpy_image(np.zeros((4, 5, 1))).shape == (4, 5)
    assert to_numpy_image(np.zeros((4, 5, 3), dtype=np.uint8)).dtype == np.uint8
    with pytest.raises(ValueError, match="expected an image"):
        to_numpy_image(np.zeros((2, 4, 5, 3)))
    with pytest.raises(ValueError, match="expected an image"):
        to_numpy_image(np.zeros((4, 5, 7)))
    with pytest.raises(TypeError):
        to_numpy_image(np.array([["a", "b"], ["c", "d"]]))


def test_image_grid():
    fig = image_grid(torch.rand(7, 3, 8, 8), titles=[str(i) for i in range(7)], ncols=3)
    assert len(fig.axes) == 9 and fig.axes[0].get_title() == "0"
    plt.close(fig)
    with pytest.raises(ValueError, match="titles"):
        image_grid([np.zeros((4, 4))], titles=["a", "b"])
    with pytest.raises(ValueError, match="at least one"):
        image_grid([])


def test_plot_curves():
    fig = plot_curves({"a": [3, 2, 1], "b": ([0, 10], [1, 0.5])}, logy=True)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(ax.lines) == 2
    plt.close(fig)
    with pytest.raises(ValueError, match="equal length"):
        plot_curves({"bad": ([0, 1, 2], [1, 2])})
    with pytest.raises(ValueError):
        plot_curves({})


def test_point_cloud_and_mesh():
    pts = np.random.default_rng(0).normal(size=(50, 3))
    fig = plot_point_cloud(torch.tensor(pts), values=np.arange(50))
    assert len(fig.data[0].x) == 50 and fig.layout.scene.aspectmode == "data"
    with pytest.raises(ValueError, match=r"\(N, 3\)|\(\.\.\., 3\)"):
        plot_point_cloud(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="match points"):
        plot_point_cloud(pts, values=np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        plot_point_cloud(np.full((3, 3), np.nan))
    verts = np.eye(3)
    mesh = plot_mesh(verts, np.array([[0, 1, 2]]), values=np.array([0.0, 1.0, 2.0]))
    assert list(mesh.data[0].i) == [0]
    with pytest.raises(ValueError, match="indices"):
        plot_mesh(verts, np.array([[0, 1, 3]]))
    with pytest.raises(ValueError, match="integer"):
        plot_mesh(verts, np.array([[0.0, 1.0, 2.0]]))


def test_skeleton_sequence():
    seq = np.random.default_rng(0).normal(size=(300, 4, 3))
    fig = plot_skeleton_sequence(seq, parents=[-1, 0, 1, 1], fps=30, max_frames=100)
    assert len(fig.frames) == 100
    bones = fig.data[0]
    assert sum(v is None for v in bones.x) == 3  # one line segment per non-root joint
    assert len(plot_skeleton_sequence(seq[0], parents=[-1, 0, 1, 1]).frames) == 1
    with pytest.raises(ValueError, match="parents"):
        plot_skeleton_sequence(seq, parents=[-1, 0, 1])
    with pytest.raises(ValueError, match="parents"):
        plot_skeleton_sequence(seq, parents=[-1, 1, 1, 1])


def test_explore_runs_headless_and_draws_a_static_sweep():
    drawn = []

    def draw(value, ax):
        drawn.append(value)
        ax.plot([0, 1], [0, value])

    w = explore(draw, [1, 2, 3], default=3, label="k")
    assert w.children[0].value == 3
    assert drawn[0] == 3 and sorted(drawn[1:]) == [1, 2, 3]  # default first, then the static sweep
    w.children[0].value = 1  # moving the slider redraws
    assert drawn[-1] == 1
    with pytest.raises(ValueError, match="not one of the values"):
        explore(draw, [1, 2], default=5)
    with pytest.raises(ValueError):
        explore(draw, [])
    fig = static_sweep(draw, [1, 2, 3, 4, 5], label="k", ncols=2)
    assert len(fig.axes) == 6 and fig.axes[0].get_title() == "k = 1"
    plt.close("all")


def test_skeleton_stands_up_and_is_followed():
    """A y-up skeleton (the kit's convention) walking along x: the camera's up is y, the three axes have one scale,
    and every frame's view is centred on the root, so the body neither lies flat nor leaves the picture."""
    t = np.arange(50)[:, None]
    pose = np.array([[0.0, 1.0, 0.0], [0.0, 1.6, 0.0], [0.1, 0.0, 0.0], [-0.1, 0.0, 0.0]])  # root, head, feet
    seq = pose[None] + np.concatenate([0.1 * t, 0 * t, 0 * t], axis=1)[:, None]  # walks 5 m along x
    fig = plot_skeleton_sequence(seq, parents=[-1, 0, 0, 0])
    cam = fig.layout.scene.camera.up
    assert (cam.x, cam.y, cam.z) == (0, 1, 0)
    zup = plot_skeleton_sequence(seq[..., [0, 2, 1]], parents=[-1, 0, 0, 0], up="z").layout.scene.camera.up
    assert (zup.x, zup.y, zup.z) == (0, 0, 1)
    for frame in (fig.frames[0], fig.frames[-1]):
        scene = frame.layout.scene
        widths = [ax.range[1] - ax.range[0] for ax in (scene.xaxis, scene.yaxis, scene.zaxis)]
        assert scene.aspectmode == "cube" and np.allclose(widths, widths[0])
        k = int(frame.name)
        assert np.isclose(np.mean(scene.xaxis.range), seq[k, 0, 0])  # follows the root
    assert widths[0] < 4  # the body's size, not the 5 m path
    with pytest.raises(ValueError, match="up must be 'y' or 'z'"):
        plot_skeleton_sequence(seq, parents=[-1, 0, 0, 0], up="x")


def test_plot_cloud_sequence():
    from cvkit.core.display import plot_cloud_sequence
    seq = np.random.default_rng(0).normal(size=(30, 50, 3))
    fig = plot_cloud_sequence(seq, fps=10, max_frames=10, values=np.zeros((30, 50)))
    assert len(fig.frames) == 10 and len(fig.data[0].x) == 50
    with pytest.raises(ValueError, match="shape"):
        plot_cloud_sequence(seq[0])
    with pytest.raises(ValueError, match="values"):
        plot_cloud_sequence(seq, values=np.zeros(30))
    bad = seq.copy()
    bad[3, 2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        plot_cloud_sequence(bad)
