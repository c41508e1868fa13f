"""The book builder's own logic: staging errors, the HTML check, and `quarto render` through a stand-in executable."""
import os
import stat
from pathlib import Path

import nbformat
import pytest

from cvkit.core.book import QUARTO_HINT, render_book, render_html, require_quarto, stage_book
from cvkit.core.chapters import CvkitError, list_chapters
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


def test_render_html_checks_pages(tmp_path):
    stage = tmp_path / "stage"
    write_nb(stage / "nbs" / "core" / "00_x.ipynb", [nbformat.v4.new_markdown_cell("# A page")])
    pages = render_html(stage)
    assert len(pages) == 1 and "A page" in pages[0].read_text()
    write_nb(stage / "nbs" / "chapters" / "01_y.ipynb", [nbformat.v4.new_markdown_cell("# A chapter")])
    with pytest.raises(CvkitError, match="shows no claims table"):
        render_html(stage)
    (stage / "nbs" / "chapters" / "01_y.ipynb").unlink()
    write_nb(stage / "nbs" / "core" / "02_z.ipynb", [nbformat.v4.new_markdown_cell("no heading")])
    with pytest.raises(CvkitError, match="no title heading"):
        render_html(stage, out=tmp_path / "html")


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


def test_outputs_without_a_static_form_are_rejected(tmp_path):
    from cvkit.core.book import unrenderable_outputs

    stage = tmp_path / "stage"
    cell = nbformat.v4.new_code_cell("fig.show()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"application/vnd.plotly.v1+json": {"data": []}})]
    write_nb(stage / "nbs" / "core" / "00_x.ipynb", [nbformat.v4.new_markdown_cell("# A page"), cell])
    with pytest.raises(CvkitError, match="outputs a static page cannot show.*plotly"):
        render_html(stage)
    assert unrenderable_outputs({"cells": [{"cell_type": "code", "outputs": [{"data": {"text/plain": "x"}}]}]}) == []
