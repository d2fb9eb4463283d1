"""How long each lesson takes to execute in quick mode (the target: under 3 minutes each on the 2-core CPU).

Executes every notebook (or the ones named) top to bottom in a fresh kernel
with ``EVOLAB_QUICK=1``, as CI does, without writing them back, and prints
a table of wall times, kernel start-up included.

Usage:
    python benchmarks/lesson_times.py                          # lessons and solutions, about 15 minutes
    python benchmarks/lesson_times.py notebooks/08_evolving_architectures.ipynb
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 180


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="default: notebooks/*.ipynb and notebooks/solutions/*.ipynb")
    args = parser.parse_args()
    notebooks = [Path(p) for p in args.notebooks] or (sorted((ROOT / "notebooks").glob("*.ipynb"))
                                                      + sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb")))
    os.environ["EVOLAB_QUICK"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    data = ROOT.parent / "shared" / "data"
    if "EVOLAB_DATA_DIR" not in os.environ and (data / "mnist.npz").is_file():
        os.environ["EVOLAB_DATA_DIR"] = str(data)

    import nbformat
    from nbclient import NotebookClient

    rows = []
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        started = time.perf_counter()
        status = "ok"
        try:
            NotebookClient(notebook, timeout=900, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        except Exception as error:  # noqa: BLE001 - a failing lesson is reported in the table, not raised
            status = f"failed: {type(error).__name__}"
        seconds = time.perf_counter() - started
        rows.append((path.relative_to(ROOT) if path.is_absolute() else path, seconds, status))
        print(f"{rows[-1][0]}: {seconds:.0f} s ({status})", file=sys.stderr, flush=True)

    print("| notebook | quick mode (s) | under 3 min | status |")
    print("|---|---:|---|---|")
    for name, seconds, status in rows:
        print(f"| {name} | {seconds:.0f} | {'yes' if seconds < TARGET_SECONDS else '**no**'} | {status} |")
    total = sum(seconds for _, seconds, _ in rows)
    print(f"\n{len(rows)} notebooks, {total / 60:.1f} minutes in all")


if __name__ == "__main__":
    main()
