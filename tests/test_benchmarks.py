import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT


def test_benchmarks_quick_run_prints_ratios():
    res = subprocess.run([sys.executable, "-m", "benchmarks", "--quick"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)  # a guard against a hang (a Dask LocalCluster starts in it), not a speed check
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("tour ")]
    assert lines and "scipy.ndimage.gaussian_filter" in lines[0] and "×" in lines[0]
    assert float(lines[0].split("max |Δ|")[1]) < 1e-10
    (grid,) = [ln for ln in res.stdout.splitlines() if ln.startswith("reproduce ")]
    assert "40 no-op tasks" in grid and "local pool (2 jobs)" in grid and "per task: Dask" in grid and "×" in grid


def test_benchmark_row_ratio():
    from benchmarks.common import BenchmarkRow, fastest

    row = BenchmarkRow("x", "c", "ref", 1.0, 4.0, "same")
    assert row.time_ratio == 0.25
    assert fastest(lambda: None, 2) >= 0


def test_frofa_benchmark_agrees_with_its_references():
    from benchmarks.frofa import run

    rows = {row.case.split()[0]: row for row in run(quick=True)}
    assert float(rows["MAP"].quality.split("max |Δ|")[1]) < 1e-4
    assert rows["brightness"].quality.startswith("max |Δ| 0") or rows["brightness"].quality.startswith("max |Δ| 1 ")
    assert rows["equalize"].quality.startswith("max |Δ| 0") or rows["equalize"].quality.startswith("max |Δ| 1 ")


def test_couplap_benchmark_solves_the_same_joint_graph():
    from benchmarks.couplap import run

    (row,) = run(quick=True)
    assert row.chapter == "couplap" and row.ours_s > 0 and row.reference_s > 0
    assert float(row.quality.split("maps ")[1].split()[0]) > 0.95


def test_hybrid_fmaps_benchmark_solves_the_same_eigenproblem():
    from benchmarks.hybrid_fmaps import run

    eig, pipeline, *pyfm = run(quick=True)
    if pyfm:  # pyFM installed: its ZoomOut gives our LBO arm's pointmap
        assert pyfm[0].quality == "same match 100.0%"
    assert eig.chapter == "hybrid" and eig.ours_s > 0 and eig.reference_s > 0
    assert float(eig.quality.split("|Δω| ")[1]) < 1e-4  # the standard-form solve finds the same eigenvalues
    assert "hybrid" in pipeline.quality and pipeline.ours_s > 0


def test_glow_benchmark_matches_art_pgd_and_coco_ap50():
    from benchmarks.glow import map_rows, pgd_rows, random_detections

    for row in pgd_rows(quick=True):  # ART installed: the same attack gives the same images
        assert row.ours_s > 0 and row.reference_s > 0
        assert float(row.quality.split("max |Δ| ")[1].split()[0]) <= 1e-6
    for row in map_rows(quick=True):  # pycocotools installed: 101-point vs all-point interpolation, nearly equal
        assert float(row.quality.split("|Δ| ")[1]) < 0.01
    dets, truths = random_detections(5, 3, __import__("numpy").random.default_rng(1))
    assert len(dets) == len(truths) == 5 and all((d.boxes[:, 2:] > d.boxes[:, :2]).all() for d in dets)


def test_amg_benchmark_finds_the_same_neighbours():
    from benchmarks.amg import run

    rows = run(quick=True)
    assert rows[0].quality == "same nearest item 100%" and all(r.ours_s > 0 and r.reference_s > 0 for r in rows)


def test_flowmdm_benchmark_banded_attention_matches_dense():
    from benchmarks.flowmdm import run

    rows = run(quick=True)
    assert [row.case.split()[0] for row in rows] == ["windowed", "BPE"]
    assert float(rows[0].quality.split("max |Δ|")[1]) < 1e-5
    assert all(row.ours_s > 0 and row.reference_s > 0 for row in rows)


def test_sprites_benchmark_renders_the_same_pixels_as_the_per_pixel_loop():
    from benchmarks.sprites import run

    rows = run(quick=True)
    assert [r.case.split()[0] for r in rows] == ["draw", "render"]
    for row in rows:
        assert row.quality.startswith("identical") and "/min" in row.quality and row.reference_s > 0


def test_scheduling_benchmark_runs_the_same_grid_on_both_engines():
    from benchmarks.scheduling import N_CHAPTERS, N_SEEDS, run

    (row,) = run(quick=True)
    assert N_CHAPTERS * N_SEEDS == 40 and row.case.startswith("40 no-op tasks")
    assert row.ours_s > 0 and row.reference_s > 0 and row.time_ratio == row.ours_s / row.reference_s


def test_tpatches_benchmark_finds_the_same_neighbours():
    from benchmarks.tpatches import run

    rows = run(quick=True)
    assert [r.chapter for r in rows] == ["tpatches", "tpatches"]
    assert float(rows[0].quality.split()[-1].rstrip("%")) > 99.0  # ties aside, the same neighbour sets as cKDTree
    assert all(r.ours_s > 0 and r.reference_s > 0 for r in rows)


def test_vitamin_benchmark_loss_agrees_with_transformers():
    from benchmarks.vitamin import run

    rows = run(quick=True)
    assert float(rows[0].quality.split("|Δ|")[1]) < 1e-5
    assert [r.case.split()[0] for r in rows] == ["InfoNCE", "ViT/8-tiny", "ViTamin-tiny"]


def test_videollm_online_benchmark_cache_matches_a_full_forward():
    from benchmarks.videollm_online import run

    rows = run(quick=True)
    assert [row.case for row in rows] == ["LM step at frame 10", "LM step at frame 100"]
    for row in rows:
        assert row.chapter == "live" and row.ours_s > 0 and row.reference_s > 0
        assert float(row.quality.split("max |Δ|")[1]) < 1e-4  # the cached step equals a full forward over the prefix


def test_semgud_benchmark_agrees_with_its_references():
    from benchmarks.semgud import run

    rows = run(quick=True)
    assert [r.reference for r in rows] == ["sklearn PCA per image", "scipy.ndimage.convolve mirror"]
    assert all(float(r.quality.split("max |Δ|")[1]) < 1e-8 and r.ours_s > 0 and r.reference_s > 0 for r in rows)


def test_hybrid_lion_cat_vs_pyfm_on_a_small_procedural_pair():
    pytest.importorskip("pyFM")
    from benchmarks.hybrid_fmaps import lion_cat_vs_pyfm
    from cvkit.papers.hybrid_fmaps import make_pair

    pair = make_pair("creases", 3, subdivisions=2)  # exact ground truth; the function is the lion → cat one
    row, out = lion_cat_vs_pyfm(pair, k_init=6, K=12)
    assert row.ours_s > 0 and row.reference_s > 0 and "pyFM" in row.quality
    for key in ("ours_error", "pyfm_error", "time_ratio"):
        assert np.isfinite(out[key]) and out[key] >= 0
    assert np.isnan(out["error_ratio"]) or out["error_ratio"] >= 0  # NaN when pyFM's error is exactly 0
    assert out["ours_error"] < 20  # ×100 on a unit-area shape: far below a random map's
    with pytest.raises(ValueError, match="k_init"):
        lion_cat_vs_pyfm(pair, k_init=12, K=6)
