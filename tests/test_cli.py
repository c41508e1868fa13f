"""The `cvkit` console command: one clear line per usage error, and the CLI's end-to-end behaviour."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CRASHING, PASSING, ROOT, make_chapter_notebook

CVKIT = [sys.executable, "-c", "import sys; from cvkit.core.cli import main; sys.exit(main())"]


def cvkit(*args, cwd=None, env=None):
    return subprocess.run([*CVKIT, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def test_console_script_is_installed():
    exe = Path(sys.executable).parent / "cvkit"
    assert exe.exists() or shutil.which("cvkit")


def test_list(root):
    res = cvkit("list", cwd=root)
    assert res.returncode == 0
    assert "tour" in res.stdout and "Foundations" in res.stdout and "cvkit.tour" in res.stdout
    assert "smoke,laptop,gpu" in res.stdout


@pytest.mark.parametrize("args,message", [
    (["reproduce", "no-such-chapter"], "unknown chapter 'no-such-chapter'"),
    (["reproduce", "--scale", "huge"], "invalid choice: 'huge'"),
    (["reproduce", "--seed", "x"], "invalid int value"),
    (["reproduce", "--jobs", "0"], "--jobs must be at least 1"),
    (["reproduce", "--timeout", "0"], "--timeout must be a positive number of seconds, got 0.0"),
    (["reproduce", "tour", "--timeout", "-30"], "--timeout must be a positive number of seconds, got -30.0"),
    (["reproduce", "--timeout", "nan"], "--timeout must be a positive number of seconds, got nan"),
    (["frobnicate"], "invalid choice"),
    (["reproduce", "tour", "--seeds", "4-0"], "--seeds: the range 4-0 runs backwards; write 0-4"),
    (["reproduce", "tour", "--seeds", "0-1", "--seed", "3"], "not allowed with argument"),
    (["reproduce", "tour", "--executor", "spark"], "invalid choice: 'spark'"),
    (["reproduce", "tour", "--executor", "dask"], "--executor dask needs --scheduler tcp://HOST:PORT"),
    (["reproduce", "tour", "--executor", "dask-local", "--queue", "gpu"], "--queue is for --executor slurm"),
    (["reproduce", "tour", "--executor", "dask-local", "--jobs", "2"], "--jobs is for the local executor"),
])
def test_usage_errors_are_one_line(root, args, message):
    res = cvkit(*args, cwd=root)
    assert res.returncode == 2
    assert message in res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr


def test_unwritable_out_is_one_line(root, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = cvkit("reproduce", "tour", "--out", str(blocker / "out"), cwd=root)
    assert res.returncode == 2 and res.stderr.startswith("cvkit: cannot write to output folder")
    assert res.stderr.count("\n") == 1


def test_book_without_a_run_is_one_line(root, tmp_path):
    res = cvkit("book", "--check", "--executed", str(tmp_path / "nothing"), cwd=root)
    assert res.returncode == 2 and "not executed in" in res.stderr and "cvkit reproduce" in res.stderr
    assert res.stderr.count("\n") == 1


def test_broken_chapter_among_good_ones(root, tmp_path):
    """A project with a good chapter and one broken on purpose: the broken one is reported with its cell,
    the good one still runs and passes, and the exit status is non-zero. (Fixture chapters: the real ones run once,
    in test_notebooks.)"""
    proj = tmp_path / "proj"
    (proj / "nbs" / "chapters").mkdir(parents=True)
    shutil.copy(root / "settings.ini", proj)
    make_chapter_notebook(proj / "nbs" / "chapters" / "00_good.ipynb", PASSING, title="A good chapter")
    make_chapter_notebook(proj / "nbs" / "chapters" / "01_broken.ipynb", CRASHING, title="Broken on purpose")
    (proj / "_quarto.yml").write_text("project: {type: book}\nbook:\n  title: t\n  chapters:\n"
                                      "    - part: Foundations\n      chapters:\n"
                                      "        - nbs/chapters/01_broken.ipynb\n        - nbs/chapters/00_good.ipynb\n")
    env = {**__import__("os").environ, "CVKIT_ROOT": str(proj)}
    res = cvkit("reproduce", "--scale", "smoke", "--jobs", "2", "--out", str(tmp_path / "out"), "--no-progress",
                cwd=proj, env=env)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "FAIL broken: crashed" in res.stdout and "code cell 4: RuntimeError: broken on purpose" in res.stdout
    assert "ok   good: passed" in res.stdout
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [c["status"] for c in report["chapters"]] == ["crashed", "passed"]
    md = (tmp_path / "out" / "report.md").read_text()
    assert "Stopped at code cell 4 (`x = 1`): `RuntimeError: broken on purpose`" in md


def test_stopping_a_run_kills_every_kernel_and_keeps_a_partial_report(tmp_path):
    """SIGTERM (what `kill` sends; Ctrl-C takes the same path) during a hanging chapter: exit 130, one line,
    the partial report marks the chapter interrupted, and no worker or kernel is left running."""
    import os
    import signal
    import time

    import psutil

    from conftest import HANGING, PASSING

    proj = tmp_path / "proj"
    make_chapter_notebook(proj / "nbs" / "chapters" / "01_quick.ipynb", PASSING)
    make_chapter_notebook(proj / "nbs" / "chapters" / "02_hang.ipynb", HANGING)
    shutil.copy(ROOT / "settings.ini", proj)
    (proj / "_quarto.yml").write_text("project: {type: book}\nbook:\n  title: t\n  chapters:\n    - part: Foundations\n"
                                      "      chapters:\n        - nbs/chapters/01_quick.ipynb\n"
                                      "        - nbs/chapters/02_hang.ipynb\n")
    out = tmp_path / "out"
    env = {**os.environ, "CVKIT_ROOT": str(proj)}
    proc = subprocess.Popen([*CVKIT, "reproduce", "--jobs", "2", "--out", str(out), "--no-progress"], cwd=proj,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300  # a guard against a run that never starts, generous for a loaded machine
    descendants = []
    while time.time() < deadline:  # wait until the hanging chapter's kernel is in its endless cell
        nb, quick = out / "notebooks" / "hang.ipynb", out / "notebooks" / "quick.ipynb"
        quick_done = quick.exists() and "footprint+json" in quick.read_text()
        one_worker_left = len(psutil.Process(proc.pid).children()) == 1  # the quick chapter's worker has exited
        if quick_done and one_worker_left and nb.exists() and '"running"' in nb.read_text():
            descendants = psutil.Process(proc.pid).children(recursive=True)
            break
        time.sleep(0.5)
    assert descendants, "the hanging chapter never started"
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.count("\n") == 1 and "interrupted: 1 of 2 chapter(s) finished" in stderr
    report = json.loads((out / "report.json").read_text())
    assert [c["status"] for c in report["chapters"]] == ["passed", "interrupted"]
    time.sleep(1)
    alive = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"left running: {[p.cmdline()[:3] for p in alive]}"


def test_unreachable_scheduler_is_one_line(root, tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = cvkit("reproduce", "tour", "--seeds", "0-1", "--executor", "dask", "--scheduler", f"tcp://127.0.0.1:{port}",
                "--connect-timeout", "2", "--out", str(tmp_path / "out"), cwd=root)
    assert res.returncode == 2, res.stderr
    assert res.stderr == f"cvkit: cannot reach the Dask scheduler at tcp://127.0.0.1:{port} within 2 s (OSError); is it running?\n"


def test_slurm_without_its_extra_names_it(root, tmp_path):
    pytest.importorskip("distributed")
    try:
        import dask_jobqueue  # noqa: F401
        pytest.skip("dask-jobqueue is installed")
    except ImportError:
        pass
    res = cvkit("reproduce", "tour", "--executor", "slurm", "--queue", "gpu", "--gpus-per-job", "1", "--walltime",
                "01:00:00", "--out", str(tmp_path / "out"), cwd=root)
    assert res.returncode == 2 and "pip install dask-jobqueue==" in res.stderr and res.stderr.count("\n") == 1


def test_the_cli_knows_every_executor():
    from cvkit.core import cli, reproduce

    assert cli.EXECUTORS == reproduce.EXECUTORS
