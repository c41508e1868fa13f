"""Shared fixtures: the project root, small notebook builders for runner tests, and the chapters' smoke run."""
import os

# One thread each, and idle OpenMP threads asleep, as in `.ci/run` and in the runner's workers: `pytest -n 2` runs two
# test processes on two cores, and threads per core (or spinning idle ones) would make them fight. Set before numpy or
# torch is imported (they read these once); a value set by the caller wins.
THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1",
              "OMP_WAIT_POLICY": "PASSIVE"}
for _name, _value in THREAD_ENV.items():
    os.environ.setdefault(_name, _value)

from pathlib import Path  # noqa: E402

import matplotlib  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402

matplotlib.use("Agg")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
KERNELSPEC = {"name": "python3", "display_name": "python3", "language": "python"}


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def make_chapter_notebook(path: Path, body: list[str], title: str = "A fixture chapter") -> Path:
    """Write a minimal chapter notebook: a title, the parameters cell, then `body` code cells."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNELSPEC,
                                            "cvkit": {"paper": None, "scales": ["smoke", "laptop", "gpu"]}})
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}"),
                nbformat.v4.new_code_cell('SCALE = "smoke"\nSEED = 0\nDEVICE = "auto"', metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in body]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


LEDGER = ("from cvkit.core.claims import REPRODUCED, ClaimLedger, ClaimSpec, replicates\n"
          "ledger = ClaimLedger('fixture', SCALE)")
HOLDS = ("ledger.check_specs({'holds': replicates([2.0, 2.0, 2.0001])}, [ClaimSpec('holds', 'two is at least one', "
         "'value', '>=', {s: (1.0, REPRODUCED) for s in ('smoke', 'laptop', 'gpu')})])")
PASSING = [LEDGER, HOLDS]
FAILING_CLAIM = [LEDGER, HOLDS,
                 "ledger.check_specs({'regressed': replicates([0.42, 0.40, 0.44])}, [ClaimSpec('regressed', "
                 "'the metric beats 0.9', 'accuracy', '>=', {'smoke': (0.9, REPRODUCED)})])"]
CRASHING = [LEDGER, "ledger.check_specs({'early': replicates([1.0, 1.1, 0.9])}, [ClaimSpec('early', "
                    "'recorded before the crash', 'value', '>=', {'smoke': (0.0, REPRODUCED)})])",
            "x = 1\nraise RuntimeError('broken on purpose')", "print('never reached')"]
HANGING = [LEDGER, "import time\ntime.sleep(600)"]


# The chapters at smoke scale run once per CI run. `.ci/run` runs the README's `cvkit reproduce` first (into
# _build/reproduce); the tests reuse that run when `report_mismatch` finds nothing that could change its outcome (same
# commit and a clean tree, same scale, seed, device, Python and packages, every chapter wanted executed there).
# Otherwise they run the chapters themselves, once per session. CVKIT_REUSE_RUN=0 always runs them here.
REUSED_RUN = ROOT / "_build" / "reproduce"
SMOKE = {"scale": "smoke", "seed": 0, "device": "cpu"}


def reuse_refusal(chapters) -> str | None:
    """Why the tests cannot reuse _build/reproduce for `chapters`; None when they can."""
    from cvkit.core.reproduce import report_mismatch

    if os.environ.get("CVKIT_REUSE_RUN", "1") == "0":
        return "CVKIT_REUSE_RUN=0"
    return report_mismatch(REUSED_RUN, chapters, SMOKE["scale"], SMOKE["seed"], SMOKE["device"], ROOT)


def pytest_report_header(config):
    from cvkit.core.chapters import list_chapters

    why = reuse_refusal(list_chapters(ROOT))
    return ("cvkit: the chapter tests reuse the smoke run in _build/reproduce" if why is None else
            f"cvkit: _build/reproduce cannot stand in for every chapter ({why})")


@pytest.fixture(scope="session")
def smoke_run(request, tmp_path_factory):
    """`(results by chapter name, folder of report.json and notebooks/)` for the chapters at smoke, seed 0, on CPU.

    Only the chapters the selected tests need: those `test_chapter_at_smoke` is parametrized with, or all of them when
    another selected test uses this fixture (`pytest -k tour` runs the tour alone)."""
    from cvkit.core.chapters import list_chapters
    from cvkit.core.reproduce import reproduce, reusable_report

    chapters = list_chapters(ROOT)
    users = [item for item in request.session.items if "smoke_run" in getattr(item, "fixturenames", ())]
    if users and all(item.originalname == "test_chapter_at_smoke" for item in users):
        names = {item.callspec.params["chapter"].name for item in users}
        chapters = [c for c in chapters if c.name in names]
    report, out = None, REUSED_RUN
    if reuse_refusal(chapters) is None:
        report = reusable_report(REUSED_RUN, chapters, **SMOKE, repo=ROOT)
    if report is None:
        out = tmp_path_factory.mktemp("smoke")
        report = reproduce(chapters, out=out, jobs=2, progress=False, **SMOKE)
    return {c.name: c for c in report.chapters}, out
