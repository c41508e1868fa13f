"""The reproduction runner end to end on fixture chapters: passing, a failed claim, a crash, a hang; its timeout,
thread settings and the reuse of a previous run."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cvkit.core.chapters import CvkitError, load_chapter
from cvkit.core.reproduce import (CRASHED, FAILED, PASSED, TIMED_OUT, ChapterResult, Report, check_output_dir,
                                  default_jobs, failing_cell, judge_chapter, over_budget_lines, read_status,
                                  report_markdown, report_mismatch, reproduce, reusable_report, run_worker,
                                  threads_per_job, worker_env, write_report, write_status)
from cvkit.core.settings import SCALES
from conftest import CRASHING, FAILING_CLAIM, HANGING, PASSING, make_chapter_notebook


@pytest.fixture(scope="module")
def fixture_run(tmp_path_factory):
    """One parallel run over four fixture chapters (each kernel costs seconds, so they share one run)."""
    tmp = tmp_path_factory.mktemp("runner")
    paths = [make_chapter_notebook(tmp / "nbs" / f"0{i}_{name}.ipynb", body)
             for i, (name, body) in enumerate([("ok", PASSING), ("regressed", FAILING_CLAIM),
                                               ("broken", CRASHING), ("hang", HANGING)])]
    chapters = [load_chapter(p, "Fixtures") for p in paths]
    report = reproduce(chapters, out=tmp / "out", scale="smoke", seed=0, device="cpu", jobs=2, timeout_s=25,
                       progress=False)
    return report, tmp / "out"


def by_name(report):
    return {c.name: c for c in report.chapters}


def test_statuses(fixture_run):
    report, _ = fixture_run
    res = by_name(report)
    assert [c.name for c in report.chapters] == ["ok", "regressed", "broken", "hang"]  # report keeps chapter order
    assert {n: c.status for n, c in res.items()} == {"ok": PASSED, "regressed": FAILED, "broken": CRASHED,
                                                      "hang": TIMED_OUT}
    assert not report.ok and report.exit_code == 1


def test_failed_claim_is_reported(fixture_run):
    res = by_name(fixture_run[0])["regressed"]
    assert res.problems == ["claim regressed: not reproduced (expected reproduced)"]
    assert [c["holds"] for c in res.claims] == [True, False]


def test_crash_is_reported_with_its_cell(fixture_run):
    res = by_name(fixture_run[0])["broken"]
    assert res.failure["code_cell"] == 4  # parameters, ledger, check, then the broken cell
    assert res.failure["first_line"] == "x = 1"
    assert res.failure["error"] == "RuntimeError: broken on purpose"
    assert [c["id"] for c in res.claims] == ["early"]  # claims recorded before the crash survive


def test_timeout_is_reported_with_its_cell(fixture_run):
    res = by_name(fixture_run[0])["hang"]
    assert res.failure["code_cell"] == 3 and res.failure["first_line"] == "import time"
    assert res.failure["error"] == "timed out after 25 s of cell execution"
    # not a speed check: the kill comes only once the cells have run 25 s, and the worker also started a kernel
    assert res.wall_s >= 25 and res.worker_s > res.wall_s


def test_report_files(fixture_run):
    report, out = fixture_run
    data = json.loads((out / "report.json").read_text())
    assert data["ok"] is False and data["scale"] == "smoke" and data["jobs"] == 2
    assert [c["status"] for c in data["chapters"]] == [PASSED, FAILED, CRASHED, TIMED_OUT]
    ok = data["chapters"][0]
    assert ok["peak_rss_mb"] > 20 and ok["wall_s"] > 0 and ok["notebook"] == "notebooks/ok.ipynb"
    assert ok["worker_s"] > ok["wall_s"] and ok["budget_s"] == SCALES["smoke"].budget_s
    assert [c["over_budget"] for c in data["chapters"]] == [False] * 4  # 25 s timeout, 60 s budget
    prov = data["provenance"]
    assert prov["seed"] == 0 and prov["machine"]["cpu"] and prov["packages"]["papermill"]
    md = (out / "report.md").read_text()
    assert "SOME CHAPTERS FAILED" in md and "RuntimeError: broken on purpose" in md and "## Provenance" in md
    assert (out / "notebooks" / "broken.ipynb").exists() and (out / "provenance.json").exists()


def test_parameters_are_injected(tmp_path):
    path = make_chapter_notebook(tmp_path / "01_params.ipynb", [
        *PASSING,
        "import os\nassert SEED == 7 and SCALE == 'laptop' and DEVICE == 'cpu'",
        "assert os.environ['OMP_NUM_THREADS'] == os.environ['OPENBLAS_NUM_THREADS'] == '1'  # one thread per job",
        "assert os.environ['OMP_WAIT_POLICY'] == 'PASSIVE' and os.environ['HF_HUB_OFFLINE'] == '1'"])
    cpus = os.cpu_count() or 1
    report = reproduce([load_chapter(path)], out=tmp_path / "out", scale="laptop", seed=7, device="cpu", jobs=cpus,
                       progress=False)
    assert report.ok, report.chapters[0]
    assert report.chapters[0].status == PASSED


def test_no_claims_is_a_failure():
    assert judge_chapter([], None, False) == (FAILED, ["no claims recorded"])


def test_bad_arguments(tmp_path):
    path = make_chapter_notebook(tmp_path / "01_x.ipynb", PASSING)
    ch = [load_chapter(path)]
    with pytest.raises(ValueError, match="unknown scale"):
        reproduce(ch, out=tmp_path / "o", scale="huge")
    with pytest.raises(CvkitError, match="seed"):
        reproduce(ch, out=tmp_path / "o", seed=-1)
    with pytest.raises(CvkitError, match="device"):
        reproduce(ch, out=tmp_path / "o", device="tpu")
    with pytest.raises(CvkitError, match="jobs"):
        reproduce(ch, out=tmp_path / "o", jobs=0)
    with pytest.raises(CvkitError, match="no chapters"):
        reproduce([], out=tmp_path / "o")
    for bad in (0, -5.0, math.nan, math.inf, True, "60"):
        with pytest.raises(CvkitError, match="--timeout must be a positive number of seconds"):
            reproduce(ch, out=tmp_path / "o", timeout_s=bad)
    assert not (tmp_path / "o").exists()  # refused before anything was written


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output_dir_as_user(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    with pytest.raises(CvkitError, match="cannot write"):
        check_output_dir(ro / "out")


def test_unwritable_output_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CvkitError, match="cannot write to output folder"):
        check_output_dir(blocker / "out")


def test_helpers():
    assert threads_per_job(1, cpus=2) == 2 and threads_per_job(3, cpus=2) == 1
    assert default_jobs("laptop", 5, cpus=2) == 2 and default_jobs("gpu", 5, cpus=8) == 1
    env = worker_env(3, base={"X": "1", "OMP_WAIT_POLICY": "ACTIVE", "OMP_NUM_THREADS": "16"})
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "3"
    assert env["NUMEXPR_NUM_THREADS"] == "3" and env["OMP_WAIT_POLICY"] == "PASSIVE"
    assert env["X"] == "1" and env["HF_HUB_OFFLINE"] == "1"
    with pytest.raises(ValueError):
        worker_env(0)
    with pytest.raises(ValueError):
        threads_per_job(0)
    assert failing_cell({"cells": []}) is None


def test_prepare_and_footprint_helpers(tmp_path):
    import nbformat

    from cvkit.core.provenance import FOOTPRINT_MIME
    from cvkit.core.reproduce import (FOOTPRINT_TAG, TIMEOUT_FACTOR, chapter_timeout_s, notebook_footprint,
                                      prepare_notebook)

    path = make_chapter_notebook(tmp_path / "01_x.ipynb", PASSING)
    nb = nbformat.read(path, as_version=4)
    prepared = prepare_notebook(nb)
    assert len(prepared.cells) == len(nb.cells) + 1 and len(nb.cells) == 4  # the original is untouched
    assert FOOTPRINT_TAG in prepared.cells[-1].metadata["tags"] and "#| include: false" in prepared.cells[-1].source
    assert chapter_timeout_s(load_chapter(path), "smoke") == SCALES["smoke"].budget_s * TIMEOUT_FACTOR == 180
    fp = {"wall_s": 1.0, "peak_rss_mb": 2.0, "cuda_peak_mb": None}
    assert notebook_footprint({"cells": [{"cell_type": "code", "outputs": [{"data": {FOOTPRINT_MIME: fp}}]}]}) == fp
    assert notebook_footprint({"cells": []}) is None


def test_show_footprint_displays_machine_readable_copy(capsys):
    from cvkit.core.provenance import show_footprint

    fp = show_footprint()
    assert set(fp) == {"wall_s", "peak_rss_mb", "cuda_peak_mb"}
    assert "peak RSS" in capsys.readouterr().out


def test_status_file(tmp_path):
    path = tmp_path / "status.json"
    assert read_status(path) == {}
    write_status(path, cells_start=1.5)
    write_status(path, cells_end=4.0)
    assert read_status(path) == {"cells_start": 1.5, "cells_end": 4.0}
    path.write_text("{not json")  # a torn file reads as "not known yet"
    assert read_status(path) == {}


@pytest.fixture
def slow_kernel(tmp_path, monkeypatch):
    """A `python3` kernel that takes 8 s to start (JUPYTER_PATH is searched first), for the workers of this test."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    code = "import time; time.sleep(8); from ipykernel.kernelapp import launch_new_instance; launch_new_instance()"
    (spec / "kernel.json").write_text(json.dumps({"argv": [sys.executable, "-c", code, "-f", "{connection_file}"],
                                                  "display_name": "slow start", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return make_chapter_notebook(tmp_path / "01_quick.ipynb", ["x = 1 + 1", "assert x == 2"])


def test_timeout_does_not_count_kernel_start(slow_kernel, tmp_path):
    """The kernel alone takes longer to start than the timeout; the cells are instant. Counted from the worker's start
    the chapter would time out; counted on its cells, as it must be, it passes."""
    out = run_worker(slow_kernel, tmp_path / "out.ipynb", {}, tmp_path / "log.txt", timeout_s=5, footprint=False)
    assert not out.timed_out and out.guard is None and out.error is None, (tmp_path / "log.txt").read_text()[-2000:]
    assert out.worker_s >= 8 > 5  # the kernel slept 8 s: longer than the timeout, and not counted
    executed = __import__("nbformat").read(tmp_path / "out.ipynb", as_version=4)
    assert [c.metadata.papermill["status"] for c in executed.cells] == ["completed"] * len(executed.cells)


def test_startup_guard_stops_a_kernel_that_does_not_come_up(slow_kernel, tmp_path):
    out = run_worker(slow_kernel, tmp_path / "out.ipynb", {}, tmp_path / "log.txt", timeout_s=5, footprint=False,
                     startup_guard_s=1)
    assert out.guard == "startup" and not out.timed_out and out.wall_s == 0.0  # no cell ever ran


def result(name="x", wall_s=1.0, budget_s=60, **kw):
    return ChapterResult(name=name, title=name.title(), part="Fixtures", module=None, status=PASSED, wall_s=wall_s,
                         notebook=f"notebooks/{name}.ipynb", budget_s=budget_s, over_budget=wall_s > budget_s, **kw)


def test_over_budget_is_reported():
    results = [result("quick", 12.0), result("slow", 82.4), result("slower", 95.0)]
    assert over_budget_lines(results[:1]) == []
    assert over_budget_lines(results) == ["", "**Over budget:** slow (82 s > 60 s), slower (95 s > 60 s)"]
    report = Report(scale="smoke", seed=0, device="cpu", jobs=2, provenance={}, chapters=results)
    md = report_markdown(report)
    assert "**Over budget:** slow (82 s > 60 s), slower (95 s > 60 s)" in md
    assert md.index("| slower |") < md.index("**Over budget:**") < md.index("## quick")  # right after the summary


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                   check=True, capture_output=True)


def test_reusing_a_previous_run(tmp_path):
    """A run can stand in for a new one only from the same clean commit, scale, seed, device and packages, with every
    chapter wanted executed."""
    from cvkit.core.provenance import collect_provenance

    repo = tmp_path / "repo"
    nb = make_chapter_notebook(repo / "nbs" / "chapters" / "01_x.ipynb", PASSING)
    (repo / ".gitignore").write_text("_build/\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one")
    chapters = [load_chapter(nb)]
    out = repo / "_build" / "reproduce"

    def write():
        prov = collect_provenance(seed=0, scale="smoke", device="auto", repo=repo)
        prov["device_resolved"] = "cpu"
        write_report(Report(scale="smoke", seed=0, device="auto", jobs=2, provenance=prov, chapters=[result()]), out)

    def why(**kw):
        return report_mismatch(out, **{"chapters": chapters, "scale": "smoke", "seed": 0, "device": "cpu", "repo": repo,
                                       **kw})

    assert why() == f"no report in {out}"
    write()
    assert why() == "the report has no executed notebook for x"
    (out / "notebooks").mkdir()
    (out / "notebooks" / "x.ipynb").write_text("{}")
    assert why() is None  # _build/ is ignored: the report's own files do not make the tree dirty
    reused = reusable_report(out, chapters, "smoke", 0, "cpu", repo)
    assert [c.name for c in reused.chapters] == ["x"] and reused.chapters[0] == result()
    assert why(scale="laptop").startswith("the report is for scale 'smoke'")
    assert why(seed=1).startswith("the report is for scale 'smoke', seed 0")
    assert why(device="cuda") == "the report ran on 'cpu', not 'cuda'"
    assert reusable_report(out, chapters, "smoke", 1, "cpu", repo) is None
    other = load_chapter(make_chapter_notebook(tmp_path / "02_y.ipynb", PASSING))
    assert why(chapters=[*chapters, other]) == "the report has no result for y"

    (repo / "notes.txt").write_text("untracked")
    assert why() == "the work tree has uncommitted changes or untracked files: notes.txt"
    (repo / "notes.txt").unlink()
    nb.write_text(nb.read_text().replace("A fixture chapter", "An edited chapter"))
    assert why() == "the work tree has uncommitted changes or untracked files: nbs/chapters/01_x.ipynb"
    git(repo, "commit", "-q", "-am", "two")
    assert why().startswith("the report was made at commit")

    write()  # made from the new commit, but with a tracked change at the time
    assert why() is None
    nb.write_text(nb.read_text().replace("An edited chapter", "Edited again"))
    write()
    git(repo, "checkout", "-q", "--", ".")
    assert why() == "the report was not made from a clean commit"

    write()
    data = json.loads((out / "report.json").read_text())
    data["provenance"]["packages"]["numpy"] = "0.0.1"
    (out / "report.json").write_text(json.dumps(data))
    assert why() == "package versions changed since the report: numpy"
    (out / "report.json").write_text("{}")
    assert why().startswith(f"{out / 'report.json'} cannot be read")


def _claim(id, verdict, expected, central=False, **kw):
    d = {"id": id, "statement": id, "metric": "m", "comparison": ">=", "threshold": 0.0, "scale": "smoke",
         "expected": expected, "verdict": verdict, "central": central, "source": "seed", "n": 5, "ci": [0.1, 0.2],
         "mean": 0.15, "method": "t", "unit": "seed", "holds": verdict == expected, "explanation": ""}
    return {**d, **kw}


def test_report_reads_at_a_glance():
    """Run totals, one summary line per chapter, every verdict with its own icon, no green tick on a pinned negative."""
    a = result("alpha", claims=[_claim("a1", "reproduced", "reproduced", central=True),
                                _claim("a2", "not reproduced", "not reproduced", explanation="why-a2")],
               checks=[{"id": "trains", "statement": "s", "measured": 1.0, "comparison": ">=", "threshold": 0.0,
                        "passed": True, "holds": True}])
    b = result("beta", claims=[_claim("b1", "undecided", "undecided", central=True, explanation="why-b1",
                                      n_to_decide=40),
                               _claim("b2", "not checkable", "not checkable", ci=None, mean=None, n=0,
                                      note="no data here")])
    report = Report(scale="smoke", seed=0, device="cpu", jobs=2, provenance={}, chapters=[a, b])
    md = report_markdown(report)
    assert ("**Totals:** 4 claims: ✅ 1 reproduced · ❌ 1 not reproduced · ❔ 1 undecided · ➖ 1 not checkable; "
            "sanity checks 1/1 pass; central: alpha reproduced, beta undecided") in md
    assert "| alpha | Fixtures | passed | 2 claims: ✅ 1 reproduced · ❌ 1 not reproduced; central: reproduced; " in md
    row = next(line for line in md.splitlines() if "**a2**" in line)
    assert row.startswith("| ❌ not reproduced") and "✅" not in row and "📌 as pinned" in row
    assert "n ≈ 40 would decide" in md and "➖ not checkable" in md and "Sanity checks" in md
    assert "why: [#why-a2](notebooks/alpha.ipynb#why-a2)" in md  # the explanation is a link into the notebook
    data = json.loads(json.dumps(report.to_dict()))
    claim = data["chapters"][0]["claims"][0]
    assert {"n", "ci", "source", "verdict", "expected"} <= set(claim)


def test_judge_chapter_counts_failed_checks_and_missing_explanations():
    ok = _claim("a", "reproduced", "reproduced")
    failed_check = {"id": "trains", "holds": False}
    assert judge_chapter([ok], None, False, [failed_check]) == (FAILED, ["sanity check trains failed"])
    status, problems = judge_chapter([ok], None, False, [], ["b"])
    assert status == FAILED and "no explanation anchor" in problems[0]
    by_design = _claim("c", "undecided", "undecided", undecidable="n = 1 at laptop")
    status, problems = judge_chapter([by_design], None, False)
    assert status == FAILED and problems == ["claim c: undecidable by design (n = 1 at laptop), so its pin could never fail"]
