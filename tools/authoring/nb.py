"""Tiny helpers to write a lesson notebook from Python (used by the lesson authors; the notebook is the source).

    from nb import Notebook
    lesson = Notebook("notebooks/00_welcome.ipynb")
    lesson.md("# Title\\nSubtitle")
    lesson.code("x = 1\\nx")
    lesson.save()

Then: python tools/lessons.py header && EVOLAB_QUICK=1 jupyter nbconvert --to notebook --execute --inplace FILE
"""

import textwrap

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SETUP = '''import sys

if "google.colab" in sys.modules:  # on Colab: install evolab (TensorFlow, Keras and ipywidgets are already there)
    %pip install -q "evolab @ git+https://github.com/evolab-org/evolab@main"

import evolab

print(evolab.environment_report())'''


class Notebook:
    def __init__(self, path):
        self.path = path
        self.cells = []

    def md(self, text, tags=None):
        cell = new_markdown_cell(textwrap.dedent(text).strip("\n"))
        if tags:
            cell.metadata["tags"] = list(tags)
        self.cells.append(cell)

    def code(self, text, tags=None):
        cell = new_code_cell(textwrap.dedent(text).strip("\n"))
        if tags:
            cell.metadata["tags"] = list(tags)
        self.cells.append(cell)

    def setup(self, extra_imports=""):
        self.code(SETUP.replace("import evolab\n", "import evolab\n" + (textwrap.dedent(extra_imports).strip() + "\n" if extra_imports else "")))

    def save(self):
        notebook = new_notebook(cells=self.cells)
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        notebook.metadata["language_info"] = {"name": "python"}
        nbformat.write(notebook, self.path)
