"""The reproduction runner end to end on fixture chapters: passing, a failed claim, a crash, a hang."""
import json
import os

import pytest

from cvkit.core.chapters import CvkitError, load_chapter
from cvkit.core.reproduce import (CRASHED, FAILED, PASSED, TIMED_OUT, check_output_dir, default_jobs, failing_cell,
                                  judge_chapter, reproduce, threads_per_job, worker_env)
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
    assert "timed out after 25 s" in res.failure["error"]
    assert res.wall_s < 60


def test_report_files(fixture_run):
    report, out = fixture_run
    data = json.loads((out / "report.json").read_text())
    assert data["ok"] is False and data["scale"] == "smoke" and data["jobs"] == 2
    assert [c["status"] for c in data["chapters"]] == [PASSED, FAILED, CRASHED, TIMED_OUT]
    ok = data["chapters"][0]
    assert ok["peak_rss_mb"] > 20 and ok["wall_s"] > 0 and ok["notebook"] == "notebooks/ok.ipynb"
    prov = data["provenance"]
    assert prov["seed"] == 0 and prov["machine"]["cpu"] and prov["packages"]["papermill"]
    md = (out / "report.md").read_text()
    assert "SOME CHAPTERS FAILED" in md and "RuntimeError: broken on purpose" in md and "## Provenance" in md
    assert (out / "notebooks" / "broken.ipynb").exists() and (out / "provenance.json").exists()


def test_parameters_are_injected(tmp_path):
    path = make_chapter_notebook(tmp_path / "01_params.ipynb", [
        "from cvkit.core.claims import ClaimLedger\nledger = ClaimLedger('p', SCALE)",
        "import os\nledger.check('seed', 'seed injected', 'r', '7', 'SEED', SEED, 'between', (7, 7))",
        "ledger.check('threads', 'one thread per job', 'r', '1', 'OMP', int(os.environ['OMP_NUM_THREADS']), 'between', (1, 1))",
        "ledger.check('offline', 'offline', 'r', '1', 'HF_HUB_OFFLINE', int(os.environ['HF_HUB_OFFLINE']), '>=', 1)",
        "assert SCALE == 'laptop' and DEVICE == 'cpu'"])
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
    env = worker_env(3, base={"X": "1"})
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "3" and env["X"] == "1" and env["HF_HUB_OFFLINE"] == "1"
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
    assert chapter_timeout_s(load_chapter(path), "smoke") == 90 * TIMEOUT_FACTOR
    fp = {"wall_s": 1.0, "peak_rss_mb": 2.0, "cuda_peak_mb": None}
    assert notebook_footprint({"cells": [{"cell_type": "code", "outputs": [{"data": {FOOTPRINT_MIME: fp}}]}]}) == fp
    assert notebook_footprint({"cells": []}) is None


def test_show_footprint_displays_machine_readable_copy(capsys):
    from cvkit.core.provenance import show_footprint

    fp = show_footprint()
    assert set(fp) == {"wall_s", "peak_rss_mb", "cuda_peak_mb"}
    assert "peak RSS" in capsys.readouterr().out
