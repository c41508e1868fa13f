"""The `cvkit` console command: one clear line per usage error, and the CLI's end-to-end behaviour."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CRASHING, make_chapter_notebook

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
    (["frobnicate"], "invalid choice"),
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


def test_book_without_quarto_is_one_line(root):
    if shutil.which("quarto"):
        pytest.skip("Quarto is installed here")
    res = cvkit("book", cwd=root)
    assert res.returncode == 2 and "Quarto is not installed" in res.stderr and "quarto.org" in res.stderr
    assert res.stderr.count("\n") == 1


def test_broken_chapter_among_good_ones(root, tmp_path):
    """A project with the tour and one chapter broken on purpose: the broken one is reported with its cell,
    the tour still runs and passes, and the exit status is non-zero."""
    proj = tmp_path / "proj"
    (proj / "nbs" / "chapters").mkdir(parents=True)
    shutil.copy(root / "settings.ini", proj)
    shutil.copy(root / "nbs" / "chapters" / "00_tour.ipynb", proj / "nbs" / "chapters")
    make_chapter_notebook(proj / "nbs" / "chapters" / "01_broken.ipynb", CRASHING, title="Broken on purpose")
    (proj / "_quarto.yml").write_text("project: {type: book}\nbook:\n  title: t\n  chapters:\n"
                                      "    - part: Foundations\n      chapters:\n"
                                      "        - nbs/chapters/01_broken.ipynb\n        - nbs/chapters/00_tour.ipynb\n")
    env = {**__import__("os").environ, "CVKIT_ROOT": str(proj)}
    res = cvkit("reproduce", "--scale", "smoke", "--jobs", "2", "--out", str(tmp_path / "out"), "--no-progress",
                cwd=proj, env=env)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "❌ broken: crashed" in res.stdout and "code cell 4: RuntimeError: broken on purpose" in res.stdout
    assert "✅ tour: passed" in res.stdout
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [c["status"] for c in report["chapters"]] == ["crashed", "passed"]
    md = (tmp_path / "out" / "report.md").read_text()
    assert "Stopped at code cell 4 (`x = 1`): `RuntimeError: broken on purpose`" in md
