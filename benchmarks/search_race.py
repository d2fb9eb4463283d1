"""A fair race of every evolab.search method: same problems, same budgets, several seeds.

Prints a markdown table of the median (over seeds) best score after 10, 30
and 100 evaluations. Problems:

* DEAP benchmark functions (scores are minus the function, so 0 is the
  optimum): sphere in 2-D and 5-D, Rastrigin in 5-D, Rosenbrock in 2-D;
  budget 100 evaluations.
* A Keras MLP on the scikit-learn digits (validation accuracy after a few
  epochs), searching learning rate, width, dropout and batch size; a smaller
  budget, since each evaluation trains a network.

Every evolutionary method uses population_size=10; Bayesian search starts
with 10 random trials; grid search uses the largest grid within the budget
(it has no randomness, so it runs once).

Usage:
    python benchmarks/search_race.py --skip-keras      # benchmark functions only (under a minute)
    python benchmarks/search_race.py                   # plus Keras: 4,100 small trainings (8 methods x 5 seeds
                                                       # x 100, plus a 100-point grid): about 1.5 s each with
                                                       # TensorFlow on a 2-core CPU, 0.8 s with
                                                       # KERAS_BACKEND=torch (Keras's fit traces its step per
                                                       # model: that, not the arithmetic, is the cost)
    python benchmarks/search_race.py --workers 2       # the Keras runs on 2 processes
    python benchmarks/search_race.py --keras-seeds 3 --keras-trials 30   # a quicker look
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def function_problems():
    from deap import benchmarks

    from evolab.search import Real

    def problem(function, dims, low, high):
        space = {f"x{i}": Real(low, high) for i in range(dims)}

        def objective(params):
            return -function([params[f"x{i}"] for i in range(dims)])[0]

        return space, objective

    return {
        "sphere 2-D": problem(benchmarks.sphere, 2, -5.0, 5.0),
        "rosenbrock 2-D": problem(benchmarks.rosenbrock, 2, -2.0, 2.0),
        "sphere 5-D": problem(benchmarks.sphere, 5, -5.0, 5.0),
        "rastrigin 5-D": problem(benchmarks.rastrigin, 5, -5.12, 5.12),
    }


def keras_problem(epochs):
    import keras

    import evolab
    from evolab import search
    from evolab.search import Categorical, Integer, Real

    data = evolab.data.load_digits(seed=0)

    def build(params):
        model = search.build_mlp([{"units": params["units"], "dropout": params["dropout"]}], data.input_shape, 10)
        model.compile(optimizer=keras.optimizers.Adam(params["learning_rate"]),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    space = {"learning_rate": Real(1e-4, 1e-1, log=True), "units": Integer(4, 128, log=True),
             "dropout": Real(0.0, 0.5), "batch_size": Categorical([16, 64, 256])}
    return space, search.keras_objective(build, data, epochs=epochs, seed=0)


def grid_space(space, budget):
    """The space with as many grid points per dimension as the budget allows (Categoricals keep all)."""
    from evolab.search import Categorical, Integer, Real, SearchSpace

    space = SearchSpace(space)
    fixed = math.prod(len(d.choices) for d in space.dimensions.values() if isinstance(d, Categorical))
    free = [d for d in space.dimensions.values() if not isinstance(d, Categorical)]
    num = max(1, int((budget / fixed) ** (1.0 / len(free)) + 1e-9)) if free else 1
    dims = {}
    for name, d in space.dimensions.items():
        if isinstance(d, Real):
            dims[name] = Real(d.low, d.high, log=d.log, num=num)
        elif isinstance(d, Integer):
            dims[name] = Integer(d.low, d.high, step=d.step, log=d.log, num=num)
        else:
            dims[name] = d
    return dims


def methods(population_size=10):
    from evolab import search

    p = {"population_size": population_size}
    return {
        "random": (search.random_search, {}),
        "bayesian (Optuna TPE)": (search.bayesian_search, {"n_startup_trials": 10}),
        "bayesian (hyperopt TPE)": (search.bayesian_search, {"engine": "hyperopt", "n_startup_trials": 10}),
        "genetic (real)": (search.genetic_search, p),
        "genetic (binary)": (search.genetic_search, {**p, "encoding": "binary"}),
        "pso": (search.pso_search, p),
        "de": (search.de_search, p),
        "cmaes": (search.cmaes_search, p),
    }


def race(space, objective, budget, seeds, checkpoints, workers=1):
    """Every method on one problem; with ``workers > 1`` the (method, seed) runs share a process pool."""
    started = time.time()
    jobs = [("grid", None)] + [(name, seed) for name in methods() for seed in seeds]
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            outcomes = list(pool.map(_run_one, [(space, objective, budget, name, seed) for name, seed in jobs]))
    else:
        outcomes = [_run_one((space, objective, budget, name, seed)) for name, seed in jobs]
    by_method = {}
    for (name, _), result in zip(jobs, outcomes):
        by_method.setdefault(name, []).append(result)
    rows = {"grid": summarize(by_method.pop("grid"), checkpoints,
                              note=f"1 run, {outcomes[0].num_trials} points")}
    for name, results in by_method.items():
        rows[name] = summarize(results, checkpoints, note=f"{len(results)} seeds")
    return rows, time.time() - started


def _run_one(job):
    """One run of one method (a grid when ``name == "grid"``); module-level so a process pool can call it."""
    from evolab import search

    space, objective, budget, name, seed = job
    if callable(space):  # a problem builder, for process pools: the objective is built in the worker
        space, objective = space()
    started = time.time()
    if name == "grid":
        result = search.grid_search(objective, grid_space(space, budget))
    else:
        method, kwargs = methods()[name]
        result = method(objective, space, n_trials=budget, seed=seed, **kwargs)
    print(f"  {name} seed {seed}: best {result.best_score:.4g} after {result.num_trials} trials, "
          f"{time.time() - started:.0f} s", file=sys.stderr, flush=True)
    return result


def summarize(results, checkpoints, note):
    row = {}
    for k in checkpoints:
        values = [r.best_at(k) for r in results]
        row[k] = float(np.median(values))
    row["seconds"] = float(np.median([r.trials["elapsed"].max() for r in results]))
    row["note"] = note
    return row


def markdown(title, rows, checkpoints, budget):
    lines = [f"#### {title}", "",
             "| method | " + " | ".join(f"best @ {k}" if k <= budget else f"best @ {k} (n/a)" for k in checkpoints)
             + " | median seconds | runs |",
             "|---|" + "---:|" * (len(checkpoints) + 1) + "---|"]
    for name, row in rows.items():
        cells = [f"{row[k]:.4g}" if k <= budget else "" for k in checkpoints]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {row['seconds']:.1f} | {row['note']} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5, help="seeds per method on the benchmark functions")
    parser.add_argument("--trials", type=int, default=100, help="budget on the benchmark functions")
    parser.add_argument("--keras-seeds", type=int, default=5, help="seeds per method on the Keras problem")
    parser.add_argument("--keras-trials", type=int, default=100, help="budget on the Keras problem")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes sharing the Keras runs (each run stays serial, so its trials are the same)")
    parser.add_argument("--keras-epochs", type=int, default=3, help="training epochs per Keras evaluation")
    parser.add_argument("--skip-keras", action="store_true", help="run the benchmark functions only")
    parser.add_argument("--skip-functions", action="store_true", help="run the Keras problem only")
    args = parser.parse_args()
    checkpoints = (10, 30, 100)

    import evolab

    print(evolab.environment_report(), flush=True)
    print()
    for title, (space, objective) in ({} if args.skip_functions else function_problems()).items():
        rows, seconds = race(space, objective, args.trials, range(args.seeds), checkpoints)
        print(markdown(f"{title}: score = -f(x), optimum 0 ({args.trials} evaluations, "
                       f"median of {args.seeds} seeds; {seconds:.0f} s)", rows, checkpoints, args.trials))
        print(flush=True)
    if not args.skip_keras:
        if args.workers > 1:  # each worker builds the problem itself (the objective holds a local function)
            for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
                os.environ.setdefault(name, "1")  # one thread per worker: more threads than cores is 10x slower
            space, objective = functools.partial(keras_problem, args.keras_epochs), None
        else:
            space, objective = keras_problem(args.keras_epochs)
        rows, seconds = race(space, objective, args.keras_trials, range(args.keras_seeds), checkpoints,
                             workers=args.workers)
        print(markdown(f"Keras MLP on digits: validation accuracy after {args.keras_epochs} epochs "
                       f"({args.keras_trials} evaluations, median of {args.keras_seeds} seeds; {seconds:.0f} s)",
                       rows, checkpoints, args.keras_trials))


if __name__ == "__main__":
    main()
