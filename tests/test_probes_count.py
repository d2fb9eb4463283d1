"""The reliability review's 288 probes, counted: every id has its test, and what the suite asserts now adds up to
the issue's bar (0 silent, 0 data loss, 0 security, 0 hangs or crashes, at most 5 unclear).

Each ``tests/test_probes_*.py`` file holds ``OUTCOMES = {id: (class in the review, class now)}`` and one
``test_<id>_...`` function per probe (or, in ``ELSEWHERE``, the test elsewhere that covers it). A probe whose test
is marked ``xfail`` is counted with its review class: its fix has not landed.

    python tests/test_probes_count.py     # prints the before/after table of docs/results.md
"""

import collections
import importlib.util
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REVIEW = TESTS.parents[1] / "shared" / "reviews" / "reliability.md"
CLASSES = ["CLEAR", "OK", "UNCLEAR", "SILENT", "HANG", "CRASH", "DATALOSS", "SECURITY"]
#: the review's probe ids, by group (its "Probe table"): 288 in all
GROUPS = {"W": 26, "X": 18, "H": 7, "E": 32, "K": 10, "N": 42, "R": 26, "S": 17, "P": 27, "O": 43, "D": 20, "C": 20}


def _modules():
    for path in sorted(TESTS.glob("test_probes_*.py")):
        if path.name == Path(__file__).name:
            continue
        spec = importlib.util.spec_from_file_location(f"_probes_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield path, module


def _function_exists(reference):
    file, name = reference.split("::")
    return re.search(rf"^def {re.escape(name)}\(", (TESTS.parent / file).read_text(), re.M) is not None


def probes():
    """``{id: (before, now, where)}`` over every probe file; ``now`` is the review's class while a test is xfail."""
    found = {}
    for path, module in _modules():
        tests = {name: getattr(module, name) for name in dir(module) if name.startswith("test_")}
        for probe, (before, now) in module.OUTCOMES.items():
            assert probe not in found, f"{probe} appears in {path.name} and {found[probe][2]}"
            functions = [f for name, f in tests.items() if name.startswith(f"test_{probe}_")]
            elsewhere = getattr(module, "ELSEWHERE", {}).get(probe)
            assert len(functions) == 1 or (not functions and elsewhere and _function_exists(elsewhere)), \
                f"{path.name}: probe {probe} needs exactly one test_{probe}_... function (or an ELSEWHERE entry)"
            marks = [m.name for f in functions for m in getattr(f, "pytestmark", [])]
            found[probe] = (before, before if "xfail" in marks else now, path.name)
    return found


def test_every_probe_of_the_review_has_its_test():
    expected = {f"{group}{n}" for group, count in GROUPS.items() for n in range(1, count + 1)}
    assert len(expected) == 288
    found = probes()
    assert sorted(expected - set(found)) == [], "probes of the review without a test"
    assert sorted(set(found) - expected) == [], "ids the review does not have"
    for probe, (before, now, _) in found.items():
        assert before in CLASSES and now in CLASSES, probe


def test_the_review_classes_are_the_reviews_own():
    if not REVIEW.exists():  # the review lives beside the project, not in a clone of it
        return
    rows = dict(re.findall(r"^\| ([A-Z]\d+) \| .*? \| ([A-Z]+) \|", REVIEW.read_text(), re.M))
    mismatched = {p: (b, rows.get(p)) for p, (b, _, _) in probes().items() if rows.get(p) != b}
    assert mismatched == {}


def test_the_suite_meets_the_issues_bar():
    now = collections.Counter(now for _, now, _ in probes().values())
    assert sum(now[c] for c in ("SILENT", "DATALOSS", "SECURITY", "HANG", "CRASH")) == 0, now
    assert now["UNCLEAR"] <= 5, now


def table():
    found = probes()
    before = collections.Counter(b for b, _, _ in found.values())
    now = collections.Counter(n for _, n, _ in found.values())
    lines = ["| class | review (before) | now |", "|---|---|---|"]
    lines += [f"| {c} | {before[c]} | {now[c]} |" for c in CLASSES]
    lines.append(f"| all probes | {sum(before.values())} | {sum(now.values())} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
