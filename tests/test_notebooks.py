"""Every chapter listed in the book runs at smoke scale through the runner, and every claim holds.
The core notebooks and the front page execute without error."""
import json

import pytest

from cvkit.core.book import check_config, render_html, stage_book
from cvkit.core.chapters import book_parts, is_chapter_file, list_chapters, load_quarto
from cvkit.core.reproduce import execute_notebook, reproduce
from conftest import ROOT

CHAPTERS = list_chapters(ROOT)
PAGES = [f for p in book_parts(load_quarto(ROOT)) for f in p.files if f.endswith(".ipynb") and not is_chapter_file(f)]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.name for c in CHAPTERS])
def test_chapter_at_smoke(chapter, tmp_path):
    report = reproduce([chapter], out=tmp_path, scale="smoke", seed=0, device="cpu", jobs=1, progress=False)
    res = report.chapters[0]
    assert res.failure is None, f"{chapter.name} stopped at {res.failure}"
    assert res.claims, f"{chapter.name} recorded no claims"
    assert res.status == "passed", res.problems
    assert all(c["holds"] for c in res.claims)
    assert res.wall_s < 2 * 90, f"{chapter.name} took {res.wall_s} s at smoke (budget 90 s)"


@pytest.mark.parametrize("page", PAGES)
def test_page_executes(page, tmp_path):
    execute_notebook(ROOT / page, tmp_path / "out.ipynb", parameters={}, footprint=False)


def test_book_check(tmp_path):
    assert check_config(ROOT) == []
    executed = tmp_path / "executed"
    reproduce(CHAPTERS, out=executed, scale="smoke", seed=0, device="cpu", progress=False)
    stage = stage_book(ROOT, executed=executed, stage=tmp_path / "stage")
    pages = render_html(stage)
    assert len(pages) == len(PAGES) + len(CHAPTERS)
    tour = next(p for p in pages if "00_tour" in p.name).read_text()
    assert "cvkit-claims" in tour and "separable-exact" in tour
    assert "Static sweep" in tour or "static sweep" in tour
