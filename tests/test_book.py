"""The book builder's own logic: staging errors, notebooks made into pages, the generated TOC, the site check, and
`quarto render` through a stand-in executable. The real book is built from the smoke run in test_notebooks."""
import os
import stat
from pathlib import Path

import nbformat
import pytest

from cvkit.core.book import (BOOK_PARTS, QUARTO_HINT, book_toc, check_site, prepare_notebook, render_book, require_quarto,
                              rewrite_citations, stage_book, strip_directives, unrenderable_outputs)
from cvkit.core.chapters import CvkitError, book_parts, list_chapters, load_quarto
from conftest import KERNELSPEC, ROOT


def test_stage_refuses_unexecuted_chapters(tmp_path):
    names = [c.name for c in list_chapters(ROOT)]
    expected = rf"not executed in .*: {', '.join(names)}; run `cvkit reproduce {' '.join(names)} --out"
    with pytest.raises(CvkitError, match=expected):
        stage_book(ROOT, executed=tmp_path / "empty", stage=tmp_path / "stage")


def write_nb(path: Path, cells: list) -> Path:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNELSPEC})
    nb.cells = cells
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def fake_quarto(bin_dir: Path, exit_code: int = 0) -> None:
    """A stand-in `quarto` that records its arguments and writes a page into the book's output folder."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "quarto"
    script.write_text("#!/bin/sh\n"
                      'echo "$@" > "$2/quarto-args.txt"\n'
                      'mkdir -p "$2/_book" && echo "<html>book</html>" > "$2/_book/index.html"\n'
                      + ("echo 'ERROR: something broke' >&2\n" if exit_code else "")
                      + f"exit {exit_code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_render_book_calls_quarto(tmp_path, monkeypatch):
    stage = tmp_path / "stage"
    stage.mkdir()
    (stage / "_quarto.yml").write_text("project:\n  type: book\n  output-dir: _book\n")
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + os.pathsep + os.environ["PATH"])
    fake_quarto(tmp_path / "bin")
    assert require_quarto() == str(tmp_path / "bin" / "quarto")
    out = render_book(stage)
    assert out == stage / "_book" and (out / "index.html").exists()
    assert (stage / "quarto-args.txt").read_text().split() == ["render", str(stage)]
    fake_quarto(tmp_path / "bin", exit_code=1)
    with pytest.raises(CvkitError, match="quarto render failed: ERROR: something broke"):
        render_book(stage)


def test_missing_quarto_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CvkitError) as err:
        require_quarto()
    assert "Quarto is not installed" in str(err.value) and QUARTO_HINT in str(err.value)
    assert "\n" not in str(err.value)


def test_outputs_without_a_static_form_are_found():
    cell = {"cell_type": "code", "outputs": [{"data": {"application/vnd.plotly.v1+json": {"data": []}}}]}
    assert unrenderable_outputs({"cells": [cell]}) == ["cell 0: only application/vnd.plotly.v1+json"]
    assert unrenderable_outputs({"cells": [{"cell_type": "code", "outputs": [{"data": {"text/plain": "x"}}]}]}) == []


def test_directives_are_stripped():
    assert strip_directives("#| export\nx = 1") == ("x = 1", {"export"})
    assert strip_directives("#|default_exp core.x") == ("", {"default_exp"})
    assert strip_directives("#| echo: false\ny = 2\n# a comment") == ("y = 2\n# a comment", {"echo:false"})


def test_citations_become_roles_outside_code():
    keys = {"a2020", "b2021"}
    assert rewrite_citations("see [@a2020; @b2021].", keys) == "see {cite:p}`a2020,b2021`."
    assert rewrite_citations("as in [@a2020, p. 3]", keys) == "as in {cite:p}`a2020`"
    untouched = "`[@a2020]` and\n```\n[@b2021]\n```\nand [x @ y]"
    assert rewrite_citations(untouched, keys) == untouched
    with pytest.raises(CvkitError, match="citation key.*nobody2099 not in references.bib"):
        rewrite_citations("[@nobody2099]", keys)


def test_a_notebook_becomes_a_page():
    plot = nbformat.v4.new_output("display_data", data={"application/vnd.plotly.v1+json": {"data": [], "layout": {}},
                                                        "text/html": "<script src='https://cdn.plot.ly/x.js'></script>"})
    loader = nbformat.v4.new_output("display_data", data={"text/html": "<script>window.PlotlyConfig = {};</script>"})
    widget = nbformat.v4.new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "1"},
                                                          "text/plain": "interactive(...)"})
    nb = nbformat.v4.new_notebook(metadata={"widgets": {"state": {}}})
    nb.cells = [nbformat.v4.new_markdown_cell("# T\n\nAs [@a2020] shows ([why](#why-x)).\n\n<a id=\"why-x\"></a>"),
                nbformat.v4.new_code_cell("#| default_exp papers.t"),
                nbformat.v4.new_code_cell('SCALE = "smoke"\nSEED = 0', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("# Parameters\nSEED = 3\n", metadata={"tags": ["injected-parameters"]}),
                nbformat.v4.new_code_cell("#| export\n" + "x = 1\n" * 40),
                nbformat.v4.new_code_cell("y = 1\n" * 40, outputs=[loader, plot, widget]),
                nbformat.v4.new_markdown_cell("## References\n\n::: {#refs}\n:::")]
    page = prepare_notebook(nb, {"a2020"}, depth=2)
    assert [c.cell_type for c in page.cells] == ["markdown", "code", "code", "code", "markdown"]
    assert "{cite:p}`a2020`" in page.cells[0].source and '<a href="#why-x">why</a>' in page.cells[0].source
    assert page.cells[1].source.endswith("# this page was run by `cvkit reproduce` with:\n#   SEED = 3")
    assert not page.cells[2].source.startswith("#|") and "hide-input" not in page.cells[2].metadata["tags"]
    assert "hide-input" in page.cells[3].metadata["tags"]
    (out,) = page.cells[3].outputs  # the loader and the widget are gone
    html = out["data"]["text/html"]
    assert html.startswith('<script src="../../_static/plotly/plotly.min.js"></script>') and "https://" not in html
    assert "{bibliography}" in page.cells[4].source and "widgets" not in page.metadata


def test_a_page_that_cites_gets_a_bibliography():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# T\n\nAs [@a2020] shows.")]
    page = prepare_notebook(nb, {"a2020"}, depth=1)
    assert "{bibliography}" in page.cells[-1].source


def test_toc_follows_quarto():
    config = load_quarto(ROOT)
    toc = book_toc(config)
    assert toc["root"] == "nbs/index" and [p["caption"] for p in toc["parts"]] == list(BOOK_PARTS)
    files = [c["file"] + ".x" for p in toc["parts"] for c in p["chapters"]]
    listed = [f for p in book_parts(config) if p.title for f in p.files]
    assert [f.rsplit(".", 1)[0] for f in files] == [f.rsplit(".", 1)[0] for f in listed]
    with pytest.raises(CvkitError, match="no front page"):
        book_toc({"book": {"chapters": [{"part": "P", "chapters": ["a.ipynb"]}]}})


def test_site_check_finds_what_a_reader_would_trip_over(tmp_path):
    config = {"book": {"chapters": ["nbs/index.ipynb", {"part": "P", "chapters": ["nbs/chapters/01_a.ipynb",
                                                                              "nbs/chapters/02_b.ipynb"]}]}}
    site = tmp_path / "html"
    (site / "nbs" / "chapters").mkdir(parents=True)
    (site / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=nbs/index.html" />')
    (site / "nbs" / "index.html").write_text("<title>Home</title><h1>Home</h1><a href='chapters/01_a.html'>a</a>")
    (site / "nbs" / "chapters" / "01_a.html").write_text(
        "<title>A</title><h1>A</h1><table class='cvkit-claims'></table><span class='math'>\\(x\\)</span>"
        "<pre>$not maths$ [@code]</pre><a href='../index.html#top'>home</a><a href='https://example.org'>ok</a>")
    assert check_site(site, config) == ["nbs/chapters/02_b.ipynb has no page in the book (nbs/chapters/02_b.html missing)"]
    (site / "nbs" / "chapters" / "02_b.html").write_text(
        "<title>B</title><h1>B</h1><p>raw $x^2$ and [@key2020]</p><link rel='stylesheet' href='http://cdn.x/s.css'>"
        "<img src='gone.png'>")
    problems = check_site(site, config)
    for expected in ("raw LaTeX '$x^2$'", "unresolved citation '[@key2020]'", "needs the network (<link href=http://",
                     "no claims table", "broken link gone.png"):
        assert any(expected in p for p in problems), (expected, problems)
    assert len(problems) == 5
