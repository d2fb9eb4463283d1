"""Every lesson has its title, badges, goals, setup cell, budgets, summary and exercises (tools/lessons.py)."""

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import lessons  # noqa: E402


def test_every_lesson_and_solution_is_complete():
    assert lessons.lessons(), "no lessons found in notebooks/"
    problems = lessons.check()
    assert not problems, "\n".join(problems)


def test_each_lesson_has_a_solution_notebook():
    names = {p.name for p in lessons.solutions()}
    missing = [p.name for p in lessons.lessons() if p.name not in names]
    assert not missing, f"lessons without worked solutions: {missing}"


def test_check_catches_a_broken_lesson(tmp_path, monkeypatch):
    """The structure check itself must fail on a lesson without badges, setup, summary or exercises."""
    broken = tmp_path / "notebooks" / "00_broken.ipynb"
    broken.parent.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Broken\nno badges"),
                                               nbformat.v4.new_code_cell("print(1)")])
    nbformat.write(notebook, broken)
    monkeypatch.setattr(lessons, "ROOT", tmp_path)
    found = "\n".join(lessons.problems(broken, [broken]))
    for needle in ("badges", "setup cell", "summary", "exercises", "learning goals", "quick_mode"):
        assert needle in found
    lessons.write_header(broken, [broken])
    assert "badges" not in "\n".join(lessons.problems(broken, [broken]))
    assert lessons.colab_url(broken).endswith("/blob/main/notebooks/00_broken.ipynb")


def test_check_catches_warnings_paths_missing_sections_and_questionnaires(tmp_path):
    """Issue 14: stored warnings, tracebacks and machine paths, pointers to results.md sections that do not exist,
    and a lesson without its questionnaire are all reported."""
    path = tmp_path / "00_noisy.ipynb"
    warned = nbformat.v4.new_code_cell("fit()", execution_count=1, outputs=[
        nbformat.v4.new_output("stream", name="stderr", text="x.py:3: ConvergenceWarning: lbfgs failed\n")])
    located = nbformat.v4.new_code_cell("data", execution_count=2, outputs=[nbformat.v4.new_output(
        "execute_result", data={"text/plain": "Dataset(source='/home/ana/data/mnist.npz')"}, execution_count=2)])
    taught = nbformat.v4.new_code_cell("demo()", execution_count=3, outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="RuntimeWarning : a class was created again\n")])
    failed = nbformat.v4.new_code_cell("1/0", execution_count=4, outputs=[
        nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])])
    text = nbformat.v4.new_markdown_cell("See `docs/results.md`, section 9z, and `docs/results.md` (section 8).")
    nbformat.write(nbformat.v4.new_notebook(cells=[text, warned, located, taught, failed]), path)
    notebook = nbformat.read(path, as_version=4)
    found = "\n".join(lessons.output_problems(path, notebook) + lessons.results_pointer_problems(path, text.source)
                      + lessons.scaffolding_problems(path, text.source))
    assert "cell 1 output shows 'ConvergenceWarning'" in found
    assert "cell 2 output shows '/home/'" in found
    assert "cell 3" not in found  # a warning the lesson prints on purpose, to teach it
    assert "cell 4 stores an error (ZeroDivisionError)" in found
    assert "section 9z, which does not exist" in found and "section 8," not in found
    assert "no 'Check yourself' questionnaire" in found
    assert not lessons.scaffolding_problems(path, "## Check yourself\n1. Why?")


def test_student_copies_drop_solutions(tmp_path):
    written = lessons.student(tmp_path / "class")
    assert written == sorted(p.name for p in lessons.lessons())
    assert not (tmp_path / "class" / "solutions").exists()


@pytest.mark.parametrize("path", lessons.lessons() + lessons.solutions(), ids=lambda p: p.name)
def test_notebooks_stay_small(path):
    assert path.stat().st_size < 1_500_000, f"{path.name} is {path.stat().st_size:,} bytes: shrink its figures"
