"""Memory over a long Keras search: does the process grow with every trial?

Runs ``keras_objective`` trials one after another (a random search over a
digits MLP, as the lessons do) and prints the resident memory of the process
after chosen trials, and the growth per trial over the second half of the
run, where start-up costs are over.

Usage:
    python benchmarks/search_memory.py                 # 100 trials, about 3 minutes on a 2-core CPU
    python benchmarks/search_memory.py --trials 300
    python benchmarks/search_memory.py --no-clear      # without clear_session, to see what it saves
    python benchmarks/search_memory.py --recycle 25    # trials on a ProcessMap worker replaced every 25 trials
                                                       # (the memory column is then the worker's)
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def rss_mb() -> float:
    """The current resident memory of this process in MB (Linux), else the peak so far."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--no-clear", action="store_true", help="skip keras.backend.clear_session between trials")
    parser.add_argument("--trim", action="store_true", help="also hand freed memory back to the OS (malloc_trim)")
    parser.add_argument("--recycle", type=int, default=None,
                        help="run each trial on ProcessMap(1, max_tasks_per_child=N) and read the worker's memory")
    args = parser.parse_args()

    import keras
    import numpy as np

    import evolab
    from evolab import search
    from evolab.search import Integer, Real

    print(evolab.environment_report())
    data = evolab.data.load_digits(seed=0)

    def build(params):
        return search.build_mlp([{"units": params["units"]}], data.input_shape, 10)

    objective = search.keras_objective(build, data, epochs=args.epochs, seed=0)
    pool = None
    if args.recycle:
        from evolab.parallel import ProcessMap

        pool = ProcessMap(1, max_tasks_per_child=args.recycle)

        def measured(params):  # runs in the worker: train, then report that process's memory
            objective(params)
            return rss_mb()
    if args.no_clear:
        keras.backend.clear_session = lambda *a, **k: None  # what memory would do without it
    space = search.SearchSpace({"learning_rate": Real(1e-3, 1e-1, log=True), "units": Integer(8, 128, log=True)})
    rng = np.random.default_rng(0)
    marks = sorted({1, 2, 5, 10, 25, 50, args.trials // 2, args.trials} | set(range(100, args.trials + 1, 100)))
    readings, started = {}, time.time()
    for trial in range(1, args.trials + 1):
        if pool is not None:
            readings[trial] = pool(measured, [space.sample(rng)])[0]
        else:
            objective(space.sample(rng))
            if args.trim:
                ctypes.CDLL("libc.so.6").malloc_trim(0)
            readings[trial] = rss_mb()
        if trial in marks:
            print(f"trial {trial}: {readings[trial]:.0f} MB", file=sys.stderr, flush=True)
    half = args.trials // 2
    slope = (readings[args.trials] - readings[half]) / max(args.trials - half, 1)
    if pool is not None:
        pool.close()
    where = f"a worker replaced every {args.recycle} trials" if args.recycle else "this process"
    print(f"\n{args.trials} trials of {args.epochs} epochs in {time.time() - started:.0f} s on {where}, "
          f"clear_session {'off' if args.no_clear else 'on'}\n")
    print("| after trial | resident memory (MB) |")
    print("|---:|---:|")
    for mark in marks:
        if mark in readings:
            print(f"| {mark} | {readings[mark]:.0f} |")
    print(f"\ngrowth per trial over trials {half}-{args.trials}: {slope:.2f} MB")


if __name__ == "__main__":
    main()
