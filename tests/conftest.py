"""Shared fixtures: the project root and small notebook builders for runner tests."""
import os
from pathlib import Path

import matplotlib
import nbformat
import pytest

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


LEDGER = "from cvkit.core.claims import ClaimLedger\nledger = ClaimLedger('fixture', SCALE)"
PASSING = [LEDGER, "ledger.check('holds', 'two is at least one', 'fixture', '2', 'value', 2.0, '>=', 1.0)"]
FAILING_CLAIM = [LEDGER, "ledger.check('holds', 'two is at least one', 'fixture', '2', 'value', 2.0, '>=', 1.0)",
                 "ledger.check('regressed', 'the metric beats 0.9', 'Table 1', '0.95', 'accuracy', 0.5, '>=', 0.9)"]
CRASHING = [LEDGER, "ledger.check('early', 'recorded before the crash', 'fixture', '1', 'value', 1.0, '>=', 0.0)",
            "x = 1\nraise RuntimeError('broken on purpose')", "print('never reached')"]
HANGING = [LEDGER, "import time\ntime.sleep(600)"]
