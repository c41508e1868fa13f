"""Every chapter listed in the book runs at smoke scale through the runner, and every claim holds; the book check
passes on the executed chapters; the core notebooks and the front page execute without error.

Each notebook executes once per CI run. The chapters come from conftest's `smoke_run`: the README's
`cvkit reproduce` when its report belongs to this commit (see conftest), else one `reproduce` call here with two
jobs (pytest.ini's `--dist loadfile` keeps this module on one xdist worker), of only the chapters the selected tests
need. The core pages and the front page are executed once, by `executed_pages`, and the book is staged from them.

No test here asserts a duration: the report records each chapter's time and flags those over budget."""
import re
from pathlib import Path

import nbformat
import pytest

from cvkit.core.book import BOOK_PARTS, browse, build_book, check_config, execute_pages, find_chromium
from cvkit.core.chapters import book_parts, is_chapter_file, list_chapters, load_quarto
from cvkit.core.reproduce import reproduce
from conftest import ROOT

CHAPTERS = list_chapters(ROOT)
PAGES = [f for p in book_parts(load_quarto(ROOT)) for f in p.files if f.endswith(".ipynb") and not is_chapter_file(f)]


@pytest.fixture(scope="module")
def executed_pages(tmp_path_factory):
    """The front page and the core notebooks, executed once: `(folder, error of each page)`."""
    out = tmp_path_factory.mktemp("pages")
    return out, execute_pages(ROOT, PAGES, out)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.name for c in CHAPTERS])
def test_chapter_at_smoke(chapter, smoke_run):
    res = smoke_run[0][chapter.name]
    assert res.failure is None, f"{chapter.name} stopped at {res.failure}"
    assert res.claims, f"{chapter.name} recorded no claims"
    assert res.status == "passed", res.problems
    assert all(c["holds"] for c in res.claims)


@pytest.mark.parametrize("page", PAGES)
def test_page_executes(page, executed_pages):
    out, errors = executed_pages
    assert errors[page] is None, errors[page]
    nb = nbformat.read(out / page, as_version=4)
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]


def test_book_builds_and_reads_offline(smoke_run, executed_pages, tmp_path):
    """The Jupyter Book built from the smoke run: `build_book` raises on any problem `check_site` finds (a page per
    listed file, titles, claims tables, no raw maths or citations, links, nothing from the network). In headless
    Chromium (when installed), with the network refused, MathJax typesets a chapter's maths, the sidebar lists every
    part, and a citation links to its bibliography; screenshots go to _build/screenshots (not committed)."""
    assert check_config(ROOT) == []
    site = build_book(ROOT, executed=smoke_run[1], out=tmp_path / "book", pages_from=executed_pages[0])
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    assert {str(Path(f).with_suffix(".html")) for f in PAGES + [c.path.relative_to(ROOT).as_posix() for c in CHAPTERS]} <= pages
    tour = (site / "nbs" / "chapters" / "00_tour.html").read_text()
    assert "cvkit-claims" in tour and "separable-exact" in tour and "injected-parameters" not in tour
    assert "#| export" not in tour and "_static/plotly/plotly.min.js" in tour
    if find_chromium() is None:
        pytest.skip("Chromium is not installed: the in-browser check is skipped (Debian: apt-get install chromium)")
    shots = ROOT / "_build" / "screenshots"
    dom = browse(site / "nbs" / "chapters" / "10_amg.html", screenshot=shots / "amg.png")
    assert dom.count("<mjx-container") > 10, "MathJax did not typeset the chapter's maths"
    assert "mjx-merror" not in dom.split("</style>")[-1], "MathJax reported a TeX error"
    assert all(part.replace("&", "&amp;") in dom for part in BOOK_PARTS)
    cited = re.search(r'<a class="reference internal" href="#(id\d+)" title="Chen Chen', dom)  # [@chen2024amg]
    assert cited and f'id="{cited.group(1)}"' in dom, "the citation does not lead to the page's bibliography"
    assert "cvkit-claims" in dom


def test_failing_fixture_is_caught_and_reported(tmp_path):
    """A chapter broken on purpose (tests/fixtures/99_broken.ipynb): a claim that regressed and then a crash.
    Both must be caught: the chapter is reported crashed at the right cell, the regressed claim is listed, and the
    run's exit code is non-zero."""
    from cvkit.core.chapters import load_chapter
    from cvkit.core.reproduce import CRASHED, report_markdown

    fixture = load_chapter(ROOT / "tests" / "fixtures" / "99_broken.ipynb", "Fixtures")
    report = reproduce([fixture], out=tmp_path, scale="smoke", seed=0, device="cpu", jobs=1, progress=False)
    res = report.chapters[0]
    assert res.status == CRASHED and report.exit_code == 1
    assert res.failure["code_cell"] == 4 and res.failure["error"] == "KeyError: 'missing layer'"
    assert res.failure["first_line"] == "weights = {}"
    assert res.problems == ["claim regressed: not reproduced (expected reproduced)"]
    assert {c["id"]: c["holds"] for c in res.claims} == {"holds": True, "regressed": False}
    md = report_markdown(report)
    assert "Stopped at code cell 4" in md and "claim regressed: not reproduced" in md


def test_a_student_changing_the_seed_reaches_the_exercises(tmp_path, monkeypatch):
    """AMG run as JupyterLab would (a plain kernel, no `cvkit reproduce`, no papermill) with SEED = 3: claims may leave
    their seed-0 pins, and the ledger then shows a banner naming exactly those claims instead of stopping Run All;
    every cell runs, down to the exercises and references."""
    from nbclient import NotebookClient

    from cvkit.core.claims import claims_from_notebook
    from cvkit.core.settings import PINS_ENV

    monkeypatch.delenv(PINS_ENV, raising=False)
    src = next(c.path for c in CHAPTERS if c.name == "amg")
    nb = nbformat.read(src, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert "SEED = 0" in params.source
    params.source = params.source.replace("SEED = 0", "SEED = 3")
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(src.parent)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "Run All stopped before the last cell"
    off_pin = [c["id"] for c in claims_from_notebook(nb) if not c["holds"]]
    texts = [o.get("data", {}).get("text/plain", "") for c in code for o in c.outputs]
    banner = [t for t in texts if "from the pinned verdicts at seed 3" in t or "have their pinned verdicts at seed 3" in t]
    assert len(banner) == 1, "the claims cell showed no pins banner"
    if off_pin:
        n = len(off_pin)
        assert banner[0].startswith(f"{n} claim{'s' if n != 1 else ''} differ") and all(i in banner[0] for i in off_pin)
    else:
        assert banner[0].startswith("All ")
