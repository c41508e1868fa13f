"""`cvkit.core.data`: the registry, where data is looked up, the messages when it is absent, and the Debian install
pipeline (exercised offline with a fake apt-get that serves a tiny package built here)."""
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cvkit.core.chapters import CvkitError
from cvkit.core.cli import main
from cvkit.core.data import (REGISTRY, SOURCES, data_root, dataset_location, dataset_table, find_file, install,
                             install_hint, is_installed, remove, require_file, verify_samples)


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """No dataset installed, and no ../shared/data either."""
    monkeypatch.setenv("CVKIT_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("CVKIT_SHARED_DATA", str(tmp_path / "no-shared"))
    return tmp_path / "cache"


def test_registry_is_complete():
    assert {"cgal-meshes", "assimp-bvh", "tuxpaint-stamps", "opencv-samples", "codec2-speech", "pudip-phase"} <= set(REGISTRY)
    for d in REGISTRY.values():
        assert d.source in SOURCES and d.licence and d.chapters and d.size and d.holds
        if d.source in ("debian", "pip"):
            assert d.package
        if d.source in ("debian", "sample"):
            assert d.files
    assert REGISTRY["cgal-meshes"].archive.endswith("data.tar.gz")


def test_committed_sample_matches_its_manifest():
    assert verify_samples() == []
    assert is_installed("pudip-phase")
    assert find_file("pudip-phase", "samples/pudip/wrapped_phase.npy").stat().st_size > 50_000


def test_cache_root_follows_cvkit_data(empty_cache, monkeypatch):
    assert data_root() == empty_cache
    monkeypatch.setenv("CVKIT_DATA", "relative/cache")  # relative to the project, not to a kernel's working folder
    from cvkit.core.chapters import project_root
    assert data_root() == (project_root() / "relative" / "cache").resolve()


def test_an_unwritable_cache_is_a_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CVKIT_DATA", str(blocker / "cache"))
    with pytest.raises(CvkitError, match="CVKIT_DATA"):
        install("codec2-speech")


def test_the_kit_runs_without_real_data(empty_cache):
    """No dataset installed and no ../shared/data: every chapter file lookup falls back (None), and couplap, the chapter
    whose claims need real data, pins those claims as not checkable and says which command brings the femur."""
    from cvkit.papers.couplap import REAL_FEMUR_CLAIMS, pinned_specs

    assert find_file("cgal-meshes", "data/meshes/femur.off") is None
    assert find_file("assimp-bvh", "usr/share/assimp/models/BVH/01_01.bvh") is None
    assert find_file("pudip-phase", "samples/pudip/wrapped_phase.npy") is not None  # committed: always there
    pins = {s.id: s for s in pinned_specs(femur_available=False)}
    assert all(rule.expected == "not checkable" for i in REAL_FEMUR_CLAIMS for rule in pins[i].rules.values())


def test_an_absent_dataset_says_how_to_get_it(empty_cache):
    assert not is_installed("cgal-meshes")
    assert find_file("cgal-meshes", "data/meshes/femur.off") is None
    with pytest.raises(CvkitError, match="cvkit data install cgal-meshes"):
        require_file("cgal-meshes", "data/meshes/femur.off")
    with pytest.raises(CvkitError, match="not installed"):
        dataset_location("assimp-bvh")
    assert "libcgal-demo" in install_hint("cgal-meshes")
    with pytest.raises(CvkitError, match="unknown dataset"):
        is_installed("imagenet")


def test_without_apt_the_message_names_the_package(empty_cache, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(CvkitError, match="apt-get is not available") as e:
        install("codec2-speech")
    assert "codec2-examples" in str(e.value) and "usr/share/codec2/wav/hts1a.wav" in str(e.value)
    with pytest.raises(CvkitError) as e:
        install("cgal-meshes")
    assert "data.tar.gz" in str(e.value) and "data/meshes/femur.off" in str(e.value)  # the nested archive step


def _fake_apt(bin_dir: Path, deb: Path | None, fail: str = "") -> None:
    """An `apt-get` that answers `download` by copying `deb` into the working folder, or fails with `fail`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "apt-get"
    if fail:
        script.write_text(f"#!/bin/sh\necho '{fail}' >&2\nexit 100\n")
    else:
        script.write_text(f"#!/bin/sh\ncp '{deb}' .\n")
    script.chmod(0o755)


def _tiny_codec2_deb(tmp: Path) -> Path:
    root = tmp / "pkg"
    wav = root / "usr/share/codec2/wav"
    wav.mkdir(parents=True)
    for name in ("hts1a.wav", "big_dog.wav"):
        (wav / name).write_bytes(b"RIFF")
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN/control").write_text("Package: codec2-examples\nVersion: 1.0\nArchitecture: all\n"
                                         "Maintainer: t <t@example.org>\nDescription: test\n")
    deb = tmp / "codec2-examples_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--build", str(root), str(deb)], check=True, capture_output=True)
    return deb


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is needed to build the test package")
def test_install_path_and_remove_with_a_fake_apt(empty_cache, tmp_path, monkeypatch):
    _fake_apt(tmp_path / "bin", _tiny_codec2_deb(tmp_path))
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{__import__('os').environ['PATH']}")
    where = install("codec2-speech")
    assert where == empty_cache / "codec2-speech" and is_installed("codec2-speech")
    assert (where / "usr/share/codec2/wav/hts1a.wav").read_bytes() == b"RIFF"
    assert dataset_location("codec2-speech") == where
    assert install("codec2-speech") == where  # already there: nothing downloaded again
    assert remove("codec2-speech") and not is_installed("codec2-speech") and not remove("codec2-speech")


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is needed to build the test package")
def test_a_package_without_the_expected_files_is_refused(empty_cache, tmp_path, monkeypatch):
    deb = _tiny_codec2_deb(tmp_path)
    _fake_apt(tmp_path / "bin", deb)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{__import__('os').environ['PATH']}")
    monkeypatch.setitem(REGISTRY, "codec2-speech", REGISTRY["codec2-speech"].__class__(
        **{**REGISTRY["codec2-speech"].__dict__, "files": ("usr/share/codec2/wav/missing.wav",)}))
    with pytest.raises(CvkitError, match="did not contain the expected files"):
        install("codec2-speech")
    assert not (empty_cache / "codec2-speech").exists()  # nothing half-installed


def test_empty_package_lists_ask_for_apt_get_update(empty_cache, tmp_path, monkeypatch):
    _fake_apt(tmp_path / "bin", None, fail="E: Unable to locate package codec2-examples")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{__import__('os').environ['PATH']}")
    with pytest.raises(CvkitError, match="apt-get update"):
        install("codec2-speech")


def test_cli_list_and_errors(empty_cache, capsys, monkeypatch):
    assert main(["data", "list", "--long"]) == 0
    out = capsys.readouterr().out
    assert "cgal-meshes" in out and "libcgal-demo" in out and str(empty_cache) in out and "licence: GPL-2" in out
    assert main(["data", "install"]) == 2
    monkeypatch.setattr(shutil, "which", lambda name: None)  # --all goes on after a failure and reports them all
    assert main(["data", "install", "codec2-speech", "assimp-bvh"]) == 2
    assert "2 of 2 dataset(s) not installed" in capsys.readouterr().err
    monkeypatch.undo()  # undoes the fixture's settings too: set them again
    monkeypatch.setenv("CVKIT_DATA", str(empty_cache))
    monkeypatch.setenv("CVKIT_SHARED_DATA", str(empty_cache.parent / "no-shared"))
    assert main(["data", "install", "nope"]) == 2
    assert main(["data", "path", "cgal-meshes"]) == 2
    assert "cvkit data install cgal-meshes" in capsys.readouterr().err
    assert main(["data", "remove", "cgal-meshes"]) == 0
    rows = {r["name"]: r for r in dataset_table()}
    assert rows["pudip-phase"]["installed"] and not rows["cgal-meshes"]["installed"]


def test_read_video_samples_crops_and_resizes(tmp_path):
    from cvkit.core.data import read_video
    with pytest.raises(ValueError, match="n_frames"):
        read_video(tmp_path / "none.avi", n_frames=1, size=64)
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    path = tmp_path / "square.mp4"
    writer = imageio_ffmpeg.write_frames(str(path), (96, 64), fps=10, macro_block_size=1, quality=9)
    writer.send(None)
    for t in range(20):  # a white square moving right on black, 96 × 64
        frame = np.zeros((64, 96, 3), np.uint8)
        frame[24:40, 10 + 3 * t:26 + 3 * t] = 255
        writer.send(frame)
    writer.close()
    clip = read_video(path, n_frames=4, size=32)
    assert clip.shape == (4, 3, 32, 32) and clip.dtype == np.uint8
    xs = [np.flatnonzero(f[0].max(0) > 128).mean() for f in clip]
    assert all(a < b for a, b in zip(xs, xs[1:]))  # the centre crop keeps the square moving right
    with pytest.raises(ValueError, match="fewer than n_frames"):
        read_video(path, n_frames=50, size=32)
    stream = read_video(path, size=32, fps=5)  # 20 frames at 10 fps → every second frame
    assert stream.shape == (10, 3, 32, 32) and (stream[0] == clip[0]).all()
    with pytest.raises(ValueError, match="own rate"):
        read_video(path, size=32, fps=25)
    with pytest.raises(ValueError, match="exactly one"):
        read_video(path, size=32)
    with pytest.raises(ValueError, match="exactly one"):
        read_video(path, size=32, n_frames=4, fps=2)
    with pytest.raises(ValueError, match="fps"):
        read_video(path, size=32, fps=float("nan"))
    with pytest.raises(FileNotFoundError):
        read_video(tmp_path / "none.avi", size=32, n_frames=4)
