import json

import pytest

from cvkit.core.chapters import (CvkitError, book_parts, chapter_name, has_parameters_cell, list_chapters,
                                 load_chapter, load_quarto, notebook_module, notebook_title, project_root,
                                 select_chapters, shared_data_dir)
from conftest import PASSING, make_chapter_notebook


def test_project_root(root, monkeypatch, tmp_path):
    assert project_root() == root
    assert project_root(root / "nbs" / "core") == root
    monkeypatch.setenv("CVKIT_ROOT", str(tmp_path))
    with pytest.raises(CvkitError, match="CVKIT_ROOT"):
        project_root()


def test_shared_data_dir(root, monkeypatch, tmp_path):
    found = shared_data_dir(root)
    assert found is None or (found / "README.md").exists() or found.is_dir()
    monkeypatch.setenv("CVKIT_SHARED_DATA", str(tmp_path))
    assert shared_data_dir() == tmp_path
    monkeypatch.setenv("CVKIT_SHARED_DATA", str(tmp_path / "missing"))
    assert shared_data_dir() is None


def test_notebook_readers():
    nb = {"cells": [{"cell_type": "code", "source": ["x = 1"], "metadata": {}},
                    {"cell_type": "markdown", "source": ["Intro\n", "# The Title\n"]},
                    {"cell_type": "code", "source": "#| default_exp papers.thing\n", "metadata": {"tags": ["parameters"]}}]}
    assert notebook_title(nb) == "The Title"
    assert notebook_module(nb) == "cvkit.papers.thing"
    assert has_parameters_cell(nb)
    assert notebook_title({"cells": []}) is None and notebook_module({"cells": []}) is None
    assert chapter_name("nbs/chapters/10_amg.ipynb") == "amg" and chapter_name("x/00-tour.ipynb") == "tour"


def test_load_chapter(tmp_path):
    path = make_chapter_notebook(tmp_path / "07_fixture.ipynb", PASSING, title="Fixture paper")
    ch = load_chapter(path, "Part A")
    assert (ch.name, ch.title, ch.part, ch.scales) == ("fixture", "Fixture paper", "Part A", ("smoke", "laptop", "gpu"))
    assert ch.budget_s("laptop") == 900
    nb = json.loads(path.read_text())
    nb["metadata"]["cvkit"]["scales"] = ["smoke", "huge"]
    path.write_text(json.dumps(nb))
    with pytest.raises(CvkitError, match="unknown scale"):
        load_chapter(path)
    with pytest.raises(CvkitError, match="not found"):
        load_chapter(tmp_path / "missing.ipynb")


def test_book_parts_and_chapters(root):
    parts = book_parts(load_quarto(root))
    assert parts[0].title == "" and parts[1].title == "Foundations"
    chapters = list_chapters(root)
    assert chapters[0].name == "tour" and chapters[0].module == "cvkit.tour" and chapters[0].part == "Foundations"
    with pytest.raises(CvkitError, match="neither a file nor a part"):
        book_parts({"book": {"chapters": [42]}})


def test_select_chapters(root):
    chapters = list_chapters(root)
    assert select_chapters([], chapters) == chapters
    assert select_chapters(["00_tour", "tour"], chapters) == chapters[:1]
    with pytest.raises(CvkitError, match="did you mean 'tour'"):
        select_chapters(["tuor"], chapters)
    with pytest.raises(CvkitError, match="unknown chapter 'zzz'"):
        select_chapters(["zzz"], chapters)


def test_invalid_quarto(tmp_path):
    (tmp_path / "_quarto.yml").write_text("book: [unclosed")
    with pytest.raises(CvkitError, match="not valid YAML"):
        load_quarto(tmp_path)
    with pytest.raises(CvkitError, match="no _quarto.yml"):
        load_quarto(tmp_path / "nowhere")
