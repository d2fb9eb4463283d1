"""Keeps the lessons' headers consistent, checks their structure, and writes student copies.

One setting, ``REPOSITORY``, decides every link: a fork changes that one line and runs
``python tools/lessons.py header``.

    python tools/lessons.py header    # rewrite badges, previous/next links and the Colab install line
    python tools/lessons.py check     # list structure problems (the test suite runs this too)
    python tools/lessons.py student DIR   # copies for a class: no solutions folder, exercise answers removed
    python tools/lessons.py clean [NB...] # drop TensorFlow's start-up log lines from stored outputs
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import nbformat

REPOSITORY = "evolab-org/evolab"
BRANCH = "main"
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAV_START, NAV_END = "<!-- nav -->", "<!-- /nav -->"
INSTALL_LINE = f'    %pip install -q "evolab @ git+https://github.com/{REPOSITORY}@{BRANCH}"'


def lessons(folder=NOTEBOOKS):
    """The numbered lesson notebooks in order (``NN_name.ipynb``)."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def solutions(folder=NOTEBOOKS / "solutions"):
    return sorted(folder.glob("[0-9][0-9]_*.ipynb")) if folder.is_dir() else []


def colab_url(path: Path) -> str:
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{path.relative_to(ROOT).as_posix()}"


def binder_url(path: Path) -> str:
    return (f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?urlpath=lab/tree/"
            f"{path.relative_to(ROOT).as_posix()}")


def title_of(path: Path) -> str:
    notebook = nbformat.read(path, as_version=4)
    for line in notebook.cells[0].source.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem


def nav_block(path: Path, ordered) -> str:
    badges = (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(path)}) "
              f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(path)})")
    links = []
    if path in ordered:
        index = ordered.index(path)
        if index > 0:
            links.append(f"[< {title_of(ordered[index - 1])}]({ordered[index - 1].name})")
        if index + 1 < len(ordered):
            links.append(f"[{title_of(ordered[index + 1])} >]({ordered[index + 1].name})")
    else:  # a solution notebook links back to its lesson
        lesson = NOTEBOOKS / path.name
        if lesson.exists():
            links.append(f"[< back to the lesson: {title_of(lesson)}](../{lesson.name})")
    return "\n".join([NAV_START, badges, "", " | ".join(links), NAV_END]).rstrip()


def write_header(path: Path, ordered) -> bool:
    notebook = nbformat.read(path, as_version=4)
    first = notebook.cells[0]
    block = nav_block(path, ordered)
    if NAV_START in first.source:
        source = re.sub(re.escape(NAV_START) + ".*?" + re.escape(NAV_END), lambda _: block, first.source, flags=re.S)
    else:
        lines = first.source.splitlines()
        source = "\n".join(lines[:1] + ["", block] + lines[1:])
    changed = source != first.source
    first.source = source
    for cell in notebook.cells:
        if cell.cell_type == "code" and "%pip install" in cell.source and "evolab" in cell.source:
            new = re.sub(r"^\s*%pip install[^\n]*evolab[^\n]*$", INSTALL_LINE, cell.source, flags=re.M)
            changed |= new != cell.source
            cell.source = new
    if changed:
        nbformat.write(notebook, path)
    return changed


REQUIRED_HEADINGS = {
    "learning goals": r"^(#+\s*|\*\*)(learning )?goals",
    "prerequisites": r"^#+\s*prerequisites|\*\*prerequisites",
    "runtime": r"quick mode.*full|full.*quick mode",
    "summary": r"^#+\s*summary",
    "exercises": r"^#+\s*exercises",
}


def problems(path: Path, ordered, is_solution=False):
    """Structure problems of one notebook, as readable strings (empty when all is well)."""
    found = []
    notebook = nbformat.read(path, as_version=4)
    if not notebook.cells or notebook.cells[0].cell_type != "markdown":
        return [f"{path.name}: the first cell must be markdown with the title"]
    first = notebook.cells[0].source
    if not re.search(r"^# \S", first, flags=re.M):
        found.append(f"{path.name}: no '# Title' in the first cell")
    if first.strip().splitlines()[0].startswith("# ") and len(first.strip().splitlines()) < 2:
        found.append(f"{path.name}: no subtitle under the title")
    if nav_block(path, ordered) not in first:
        found.append(f"{path.name}: badges/navigation missing or pointing elsewhere (run tools/lessons.py header)")
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    setup = [c for c in code if '"google.colab" in sys.modules' in c and "environment_report()" in c]
    if not setup:
        found.append(f"{path.name}: no setup cell (Colab install guarded by \"google.colab\" in sys.modules, "
                     "then evolab.environment_report())")
    elif INSTALL_LINE.strip() not in setup[0]:
        found.append(f"{path.name}: the setup cell's install line does not point at {REPOSITORY}")
    if not is_solution:
        if not any("quick_mode()" in c or "evolab.budget(" in c for c in code):
            found.append(f"{path.name}: no parameters cell taking budgets from evolab.quick_mode()/evolab.budget()")
        for name, pattern in REQUIRED_HEADINGS.items():
            if not re.search(pattern, markdown, flags=re.I | re.M):
                found.append(f"{path.name}: missing {name}")
        if not re.search(r"stored outputs", markdown, flags=re.I):
            found.append(f"{path.name}: does not say whether the stored outputs come from a quick or a full run")
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and cell.get("outputs") and cell.get("execution_count") is None:
            found.append(f"{path.name}: cell {index} has outputs but no execution count (nbval rejects it)")
    if noisy_outputs(notebook):
        found.append(f"{path.name}: stored outputs hold TensorFlow start-up log lines (run tools/lessons.py clean)")
    found += output_problems(path, notebook) + results_pointer_problems(path, markdown)
    if not is_solution:
        found += scaffolding_problems(path, markdown)
    return found


# What a reader must never see in a stored output: warnings, tracebacks, this machine's paths.
MACHINE_PATH = re.compile(r"(?<![\w.])/(work|home|tmp|Users|root)/|[A-Z]:\\Users\\")
ALARMING = re.compile(rf"\w*Warning\b|Traceback \(most recent call last\)|{MACHINE_PATH.pattern}")
RESULTS = ROOT / "docs" / "results.md"


def output_problems(path: Path, notebook):
    """Stored outputs that show warnings, errors or machine paths (issue 14: none may remain)."""
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "error":
                found.append(f"{path.name}: cell {index} stores an error ({output.get('ename')})")
                continue
            text = output.get("text", "") or "".join(output.get("data", {}).get("text/plain", ""))
            text = text if isinstance(text, str) else "".join(text)
            # a warning the lesson prints on purpose (stdout) is teaching; one on stderr is noise
            match = ALARMING.search(text) if output.get("name") == "stderr" else MACHINE_PATH.search(text)
            if match:
                found.append(f"{path.name}: cell {index} output shows {match.group(0)!r} (a warning, traceback or "
                             "machine path)")
    return found


def results_pointer_problems(path: Path, markdown: str):
    """``docs/results.md`` sections the text points to, by number ("section 2b") or name, must exist."""
    headings = re.findall(r"^## (.+)$", RESULTS.read_text(), flags=re.M)
    numbers = {h.split(".")[0].strip() for h in headings}
    found = []
    for number in re.findall(r"results\.md`?\)?,?\s*\(?section (\d+[a-z]?)\b", markdown):
        if number not in numbers:
            found.append(f"{path.name}: points to docs/results.md section {number}, which does not exist "
                         f"(sections: {', '.join(sorted(numbers))})")
    return found


def scaffolding_problems(path: Path, markdown: str):
    """A lesson ends with a "Check yourself" questionnaire before its exercises (issue 14)."""
    if not re.search(r"^#+\s*check yourself", markdown, flags=re.I | re.M):
        return [f"{path.name}: no 'Check yourself' questionnaire"]
    return []


def check():
    ordered = lessons()
    found = []
    for path in ordered:
        found += problems(path, ordered)
    for path in solutions():
        found += problems(path, ordered, is_solution=True)
    return found


# TensorFlow's C++ start-up lines (absl logs them before TF_CPP_MIN_LOG_LEVEL applies): noise, not lesson output.
START_UP_NOISE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\)|[IWE]\d{4} \d\d:\d\d:\d+\.\d+\s)")


def noisy_outputs(notebook) -> int:
    """How many stderr outputs of a notebook hold TensorFlow start-up lines."""
    return sum(1 for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
               if output.get("name") == "stderr" and any(START_UP_NOISE.match(line)
                                                         for line in output.get("text", "").splitlines()))


def clean(path: Path) -> bool:
    """Removes TensorFlow's start-up lines from a notebook's stored stderr; True when something changed."""
    notebook = nbformat.read(path, as_version=4)
    if not noisy_outputs(notebook):
        return False
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.outputs:
            if output.get("name") == "stderr":
                lines = [line for line in output.text.splitlines(keepends=True) if not START_UP_NOISE.match(line)]
                if not "".join(lines).strip():
                    continue
                output.text = "".join(lines)
            kept.append(output)
        cell.outputs = kept
    nbformat.write(notebook, path)
    return True


def student(destination: Path):
    """Copies the lessons for a class: no solutions folder; cells tagged ``solution`` are emptied."""
    destination = Path(destination)
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    for path in lessons():
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if "solution" in cell.get("metadata", {}).get("tags", []):
                cell.source = "# Your answer here\n"
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
        nbformat.write(notebook, destination / path.name)
    return sorted(p.name for p in destination.iterdir())


def main(argv):
    command = argv[1] if len(argv) > 1 else "check"
    if command == "header":
        ordered = lessons()
        for path in ordered + solutions():
            if write_header(path, ordered):
                print("updated", path.relative_to(ROOT))
        return 0
    if command == "check":
        found = check()
        print("\n".join(found) or f"{len(lessons())} lessons and {len(solutions())} solutions look complete")
        return 1 if found else 0
    if command == "clean":
        for path in [Path(p) for p in argv[2:]] or lessons() + solutions():
            if clean(path):
                print("cleaned", path)
        return 0
    if command == "student":
        written = student(Path(argv[2]) if len(argv) > 2 else ROOT / "student")
        print(f"wrote {len(written)} notebooks")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
