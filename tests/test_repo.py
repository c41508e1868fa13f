"""Repository rules: notebooks are the source of truth, notebooks are clean, papers import only core,
chapters have the parameters tag and the required sections, the book configuration is sound, module docstrings are
whole sentences, Markdown has no control characters, tests and CI run with the same thread settings."""
import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cvkit.core.book import BOOK_PARTS, check_config
from cvkit.core.chapters import has_parameters_cell, list_chapters
from conftest import ROOT

NBDEV_BIN = Path(sys.executable).parent


def run_on_copy(tool: str, tmp_path: Path) -> Path:
    """Copy the source tree (without environments and build output) and run an nbdev command in the copy."""
    copy = tmp_path / "tree"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "_build", "__pycache__", "*.egg-info"))
    subprocess.run([NBDEV_BIN / tool], cwd=copy, check=True, capture_output=True)
    return copy


def test_export_is_in_sync(tmp_path):
    """Running nbdev_export on a copy of the tree leaves cvkit/ unchanged."""
    copy = run_on_copy("nbdev_export", tmp_path)
    for py in sorted((ROOT / "cvkit").rglob("*.py")):
        rel = py.relative_to(ROOT)
        assert (copy / rel).read_text() == py.read_text(), f"{rel} differs from what nbdev_export writes"
    generated = {p.relative_to(copy) for p in (copy / "cvkit").rglob("*.py")}
    committed = {p.relative_to(ROOT) for p in (ROOT / "cvkit").rglob("*.py")}
    assert generated == committed


def test_notebooks_are_clean(tmp_path):
    """nbdev_clean leaves every notebook unchanged."""
    copy = run_on_copy("nbdev_clean", tmp_path)
    for nb in sorted((ROOT / "nbs").rglob("*.ipynb")):
        rel = nb.relative_to(ROOT)
        assert (copy / rel).read_text() == nb.read_text(), f"{rel} is not clean: run nbdev_clean"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_layering():
    """core never imports a chapter; a chapter imports only core (never another chapter)."""
    lib = ROOT / "cvkit"
    chapter_modules = {"cvkit.tour"} | {f"cvkit.papers.{p.stem}" for p in (lib / "papers").glob("*.py") if p.stem != "__init__"}
    for py in (lib / "core").glob("*.py"):
        bad = [m for m in imported_modules(py) if m.startswith(("cvkit.papers", "cvkit.tour"))]
        assert not bad, f"core module {py.name} imports a chapter: {bad}"
    for mod in chapter_modules:
        path = lib / (mod.removeprefix("cvkit.").replace(".", "/") + ".py")
        own = [m for m in imported_modules(path) if m.startswith("cvkit") and not m.startswith("cvkit.core")]
        assert not own, f"{mod} imports {own}; chapters may import only cvkit.core"


def test_chapters_export_to_their_place():
    for ch in list_chapters(ROOT):
        expected = "cvkit.tour" if ch.name == "tour" else f"cvkit.papers.{ch.name}"
        assert ch.module == expected, f"{ch.path.name} exports {ch.module}, expected {expected}"


REQUIRED_SECTIONS = ["Parameters", "Claims", "Explore", "Real data", "Summary", "Exercises", "References"]


@pytest.mark.parametrize("chapter", list_chapters(ROOT), ids=lambda c: c.name)
def test_chapter_anatomy(chapter):
    nb = json.loads(chapter.path.read_text())
    assert has_parameters_cell(nb), f"{chapter.path.name}: no cell tagged 'parameters'"
    params = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    src = "".join(params["source"])
    for name in ("SCALE", "SEED", "DEVICE"):
        assert f"{name} =" in src, f"{chapter.path.name}: parameters cell lacks {name}"
    headings = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    heads = [line[3:].strip() for h in headings for line in h.splitlines() if line.startswith("## ")]
    positions = []
    for section in REQUIRED_SECTIONS:
        found = [i for i, h in enumerate(heads) if h.startswith(section)]
        assert found, f"{chapter.path.name}: missing section '## {section}'"
        positions.append(found[0])
    assert positions == sorted(positions), f"{chapter.path.name}: sections out of order {list(zip(REQUIRED_SECTIONS, positions))}"
    assert chapter.title and "metadata" in nb and "cvkit" in nb["metadata"], "chapter metadata 'cvkit' missing"
    exercises = "".join(h for h in headings if "## Exercises" in h)
    assert exercises.count("\n1.") + exercises.count("\n2.") + exercises.count("\n3.") >= 3, "at least three exercises"
    assert any("check_exercise(" in "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"), \
        "one exercise must be auto-checked with check_exercise"


def test_prose_share():
    """Prose is a large part of a chapter (DESIGN: aim for 35-50 % of its characters)."""
    for ch in list_chapters(ROOT):
        nb = json.loads(ch.path.read_text())
        md = sum(len("".join(c["source"])) for c in nb["cells"] if c["cell_type"] == "markdown")
        code = sum(len("".join(c["source"])) for c in nb["cells"] if c["cell_type"] == "code")
        assert md / (md + code) >= 0.35, f"{ch.name}: prose is {md / (md + code):.0%} of the characters"


def test_book_config_is_sound():
    assert check_config(ROOT) == []
    quarto = (ROOT / "_quarto.yml").read_text()
    for part in BOOK_PARTS:
        assert part in quarto


def test_book_config_problems_are_found(tmp_path):
    (tmp_path / "nbs" / "chapters").mkdir(parents=True)
    (tmp_path / "nbs" / "chapters" / "05_orphan.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    (tmp_path / "_quarto.yml").write_text("project: {type: website}\nbibliography: refs.bib\nbook:\n  chapters:\n"
                                          "    - part: Foundations\n      chapters: [nbs/missing.ipynb]\n")
    problems = "\n".join(check_config(tmp_path))
    for expected in ("project.type must be 'book'", "book.title is missing", "'Generative models and diffusion' is missing",
                     "nbs/missing.ipynb, which does not exist", "05_orphan.ipynb is not listed", "refs.bib does not exist"):
        assert expected in problems


def test_requirements_pin_the_toolchain():
    constraints = (ROOT / "constraints.txt").read_text()
    for pin in ("torch==2.13.0", "nbdev==2.4.14", "fastcore==1.14.5", "execnb==0.1.18"):
        assert pin in constraints
    settings = (ROOT / "settings.ini").read_text()
    assert "update_pyproject = False" in settings and "cell_number" not in settings
    assert "allowed_cell_metadata_keys = tags" in settings
    deps = settings.split("requirements = ")[1].split("\n")[0]
    assert "torchvision" not in deps and "timm" not in deps


SENTENCE_END = re.compile(r"[.!?][)\]\"'”’]*$")


def test_module_docstrings_are_whole_sentences():
    """nbdev makes a notebook's `>` subtitle its module's docstring, but keeps only the subtitle's first line: a
    subtitle wrapped over several lines leaves the docstring cut off mid-sentence. Keep the subtitle on one line."""
    cut = []
    for py in sorted((ROOT / "cvkit").rglob("*.py")):
        text = py.read_text()
        if "AUTOGENERATED! DO NOT EDIT!" not in text:
            continue
        doc = ast.get_docstring(ast.parse(text))
        if not doc or not SENTENCE_END.search(doc.strip()):
            cut.append(f"{py.relative_to(ROOT)}: {doc!r}")
    assert not cut, "module docstrings cut off mid-sentence (a `>` subtitle spread over lines?):\n" + "\n".join(cut)


def test_subtitles_are_one_line():
    """The same rule at its source: the `>` subtitle under a notebook's title is a single line."""
    wrapped = []
    for nb in sorted((ROOT / "nbs").rglob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        first = "".join(cells[0]["source"]) if cells and cells[0]["cell_type"] == "markdown" else ""
        quoted = [line for line in first.splitlines() if line.startswith(">")]
        if len(quoted) > 1:
            wrapped.append(f"{nb.relative_to(ROOT)}: {len(quoted)} lines")
    assert not wrapped, wrapped


CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # C0 and C1 controls and DEL; a newline is fine


def test_markdown_has_no_control_characters():
    """A literal tab or other control character in Markdown is almost always an escape gone wrong: "\top" written
    where `\\top` was meant turns `$f^\top$` into a tab and "op", and MathJax fails."""
    found = []
    for nb in sorted((ROOT / "nbs").rglob("*.ipynb")):
        for i, cell in enumerate(json.loads(nb.read_text())["cells"]):
            if cell["cell_type"] != "markdown":
                continue
            src = "".join(cell["source"])
            for m in CONTROL.finditer(src):
                found.append(f"{nb.relative_to(ROOT)} cell {i}: {m.group()!r} in {src[max(0, m.start() - 30):m.end() + 30]!r}")
    assert not found, "\n".join(found)


def test_tests_and_ci_use_the_same_thread_settings():
    """`.ci/run` exports the thread settings conftest gives the test processes (the README's test command gets them
    from conftest), the runner's workers set the same variables, and torch in this process obeys them."""
    import torch

    from conftest import THREAD_ENV
    from cvkit.core.reproduce import worker_env

    exported = {}
    for line in (ROOT / ".ci" / "run").read_text().splitlines():
        if line.startswith("export "):
            exported.update(item.split("=", 1) for item in line.split()[1:] if "=" in item)
    assert {name: exported.get(name) for name in THREAD_ENV} == THREAD_ENV
    assert set(THREAD_ENV) <= set(worker_env(1, base={})) and worker_env(1, base={})["OMP_WAIT_POLICY"] == "PASSIVE"
    assert all(name in os.environ for name in THREAD_ENV)
    assert torch.get_num_threads() == int(os.environ["OMP_NUM_THREADS"])
