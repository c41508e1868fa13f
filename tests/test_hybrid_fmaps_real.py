"""cvkit.papers.hybrid_fmaps, the real pair (lion → cat) and the official schedule's endpoint: the file-based pair on a
tiny fixture written to disk, its matching against the full-geodesic path, the claim's bookkeeping with and without
the research-use files, and `match_official` against the pieces it is made of."""
import dataclasses

import numpy as np
import pandas as pd
import pytest

from cvkit.core.claims import NOT_CHECKABLE, Measurement, NotMeasured
from cvkit.core.spectral import geodesic_distances, unit_area
from cvkit.papers.hybrid_fmaps import (CONFIGS, LEARNED_CONFIGS, LION_CAT_FILES, LION_CAT_HINT, PINS, SPECS,
                                       ExperimentResult, claim_measurements, descriptor_fmaps, descriptors,
                                       geodesic_errors, lion_cat_files, lion_cat_pair, make_pair, match_official,
                                       match_pair, match_real_pair, pointmap_from_fmaps, real_pair, run_learned,
                                       spectral_shape, specs_for_data, zoomout, zoomout_schedule_blocks)


def _write_off(path, V, F):
    lines = ["OFF", f"{len(V)} {len(F)} 0"] + [" ".join(f"{c:.17g}" for c in v) for v in V]
    lines += [f"3 {a} {b} {c}" for a, b, c in F]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def holes_files(tmp_path_factory):
    "A holes pair (fewer target than source vertices, so a map file read the wrong way round is refused) on disk."
    d = tmp_path_factory.mktemp("real")
    pair = make_pair("holes", 11, subdivisions=2)
    _write_off(d / "x.off", *pair.source)
    _write_off(d / "y.off", *pair.target)
    (d / "y2x.txt").write_text("\n".join(str(int(g)) for g in pair.gt) + "\n")
    (d / "x2y.txt").write_text("\n".join(str(i % len(pair.target[0])) for i in range(len(pair.source[0]))) + "\n")
    (d / "lm.txt").write_text("\n".join(f"{a} {b}" for a, b in zip(*pair.landmarks)) + "\n")
    return d, pair


def test_real_pair_reads_the_files_and_excludes_landmarks(holes_files):
    d, pair = holes_files
    real = real_pair(d / "x.off", d / "y.off", d / "y2x.txt", d / "lm.txt", family="fixture")
    assert real.family == "fixture"
    assert np.allclose(real.source[0], pair.source[0], atol=1e-12) and np.array_equal(real.source[1], pair.source[1])
    # both meshes are scaled to unit area (the holes target lost area when its holes were cut)
    assert np.allclose(real.target[0], unit_area(*pair.target), atol=1e-12) and np.array_equal(real.target[1], pair.target[1])
    assert np.array_equal(real.landmarks[0], pair.landmarks[0]) and np.array_equal(real.landmarks[1], pair.landmarks[1])
    expected = pair.gt.copy()
    expected[pair.landmarks[1]] = -1  # the landmark target vertices are not scored
    assert np.array_equal(real.gt, expected) and (real.gt == -1).sum() == len(set(pair.landmarks[1].tolist())) > 0
    with pytest.raises(ValueError, match="lines but the shape it follows"):
        real_pair(d / "x.off", d / "y.off", d / "x2y.txt", d / "lm.txt")  # a source → target map: wrong length
    (d / "lm_swapped.txt").write_text("\n".join(f"{b} {a}" for a, b in zip(*pair.landmarks)) + f"\n0 {len(pair.target[0])}\n")
    with pytest.raises(ValueError, match="column 2"):
        real_pair(d / "x.off", d / "y.off", d / "y2x.txt", d / "lm_swapped.txt")


def test_match_real_pair_equals_the_full_geodesic_path(holes_files):
    d, _ = holes_files
    real = real_pair(d / "x.off", d / "y.off", d / "y2x.txt", d / "lm.txt")
    arms = {"lbo": 0.0, "hybrid": 0.3}
    rows, errors = match_real_pair(real, k_init=12, K=20, arms=arms, progress=False)
    full, maps = match_pair(real, k_init=12, sizes=(20,), arms=arms)  # all-pairs geodesics, the procedural path
    ok = real.gt >= 0
    dist = geodesic_distances(*real.source)
    for arm in arms:
        assert len(errors[arm]) == ok.sum()
        assert np.allclose(errors[arm], dist[real.gt[ok], maps[arm, 20][ok]])  # the same vertices, in the same order
        assert rows.set_index("arm").error[arm] == pytest.approx(full.set_index("arm").error[arm], abs=1e-12)
    assert not np.array_equal(errors["lbo"], errors["hybrid"])  # two different pipelines, paired by vertex
    with pytest.raises(ValueError, match="K ≥ k_init"):
        match_real_pair(real, k_init=20, K=12, arms=arms, progress=False)


def test_lion_cat_files_needs_all_four(tmp_path):
    assert lion_cat_files(None) is None and lion_cat_files(tmp_path / "nowhere") is None
    (tmp_path / "meshes").mkdir()
    for name in LION_CAT_FILES[:-1]:
        (tmp_path / "meshes" / name).write_text("")
    assert lion_cat_files(tmp_path) is None  # one file missing
    (tmp_path / "meshes" / LION_CAT_FILES[-1]).write_text("")
    files = lion_cat_files(tmp_path)
    assert set(files) == set(LION_CAT_FILES) and all(p.parent == tmp_path / "meshes" for p in files.values())
    assert "never copied" in LION_CAT_HINT and "../shared/data/meshes" in LION_CAT_HINT


def test_lion_cat_pair_direction(tmp_path, holes_files):
    "lion_cat_pair puts the cat as the source and reads lion2cat.txt as the target → source map."
    d, pair = holes_files
    (tmp_path / "meshes").mkdir()
    for src, name in (("x.off", "cat-00.off"), ("y.off", "lion-00.off"), ("y2x.txt", "lion2cat.txt"),
                      ("lm.txt", "cat_lion_landmarks.txt")):
        (tmp_path / "meshes" / name).write_bytes((d / src).read_bytes())
    real = lion_cat_pair(lion_cat_files(tmp_path))
    assert real.family == "lion → cat" and len(real.source[0]) == len(pair.source[0]) > len(real.target[0])


def test_claim_measurements_real_pair_and_specs_for_data():
    cfg = dataclasses.replace(CONFIGS["laptop"], sweep_shapes=0, remeshed=0)  # only the families in the fake table
    T = pd.DataFrame([dict(part="family", family=f, pair=p, K=cfg.main_k, arm=a, error=1.0 + p)
                      for f in ("near-isometric", "creases", "holes") for p in range(3) for a in ("lbo", "hybrid", "elastic")])
    lbo, hyb = np.array([0.01, 0.02, 0.03]), np.array([0.02, 0.02, 0.01])
    m = claim_measurements(ExperimentResult(T), cfg, "laptop", real_errors={"lbo": lbo, "hybrid": hyb})
    real = m["real-lion-cat"]
    assert isinstance(real, Measurement) and real.unit == "vertices"  # the report writes "n = 4980 vertices"
    assert np.allclose(real.values, [1.0, 0.0, -2.0])  # ×100, hybrid − LBO per vertex
    absent = claim_measurements(ExperimentResult(T), cfg, "laptop", real_missing=LION_CAT_HINT)["real-lion-cat"]
    assert isinstance(absent, NotMeasured) and absent.reason == LION_CAT_HINT
    no_data = {s.id: s for s in specs_for_data(SPECS, False)}
    assert all(r.expected == NOT_CHECKABLE for r in no_data["real-lion-cat"].rules.values())
    assert no_data["hybrid-beats-lbo-on-creases"] == next(s for s in SPECS if s.id == "hybrid-beats-lbo-on-creases")
    assert specs_for_data(SPECS, True) == SPECS
    assert PINS["real-lion-cat"]["smoke"] == NOT_CHECKABLE and CONFIGS["smoke"].lion_cat_k == 0
    assert CONFIGS["laptop"].lion_cat_k == 50  # the K


def test_match_official_against_its_pieces():
    pair = make_pair("creases", 4, subdivisions=2)
    dist = geodesic_distances(*pair.source)
    rows = match_official(pair, dist, start=(6, 3), end=(10, 10)).set_index("arm")
    assert list(rows.index) == ["lbo", "hybrid 1:1 (official)"] and set(rows.K) == {20}
    lbo, _ = match_pair(pair, k_init=9, sizes=(20,), arms={"lbo": 0.0})  # LBO-only over the same K range, 9 → 20
    assert rows.error["lbo"] == pytest.approx(lbo.error.item(), abs=1e-12)
    x = spectral_shape(*pair.source, k_lb=50, k_el=10)
    y = spectral_shape(*pair.target, k_lb=50, k_el=10)
    dx, dy = descriptors(x, pair.landmarks[0]), descriptors(y, pair.landmarks[1])
    p0 = pointmap_from_fmaps(*descriptor_fmaps(x, y, dx, dy, 6, 3), x, y)
    p = zoomout(p0, x, y, zoomout_schedule_blocks((6, 3), (10, 10)))
    assert rows.error["hybrid 1:1 (official)"] == pytest.approx(100 * geodesic_errors(p, pair.gt, dist).mean(), abs=1e-12)


def test_learned_weight_is_checked():
    bad = dataclasses.replace(LEARNED_CONFIGS["smoke"], weight=float("nan"))
    with pytest.raises(ValueError, match="cfg.weight"):
        run_learned(bad, 0, progress=False)
    assert LEARNED_CONFIGS["laptop"].weight == 0.1  # the pinned run's α
