"""Seconds per generation of the low-rank strategy: ask / evaluate / tell from Python against CompiledGeneration.

Usage:
    EVOLAB_DATA_DIR=../shared/data python benchmarks/compiled_generation.py [--populations 256 2048 8192]
    KERAS_BACKEND=jax python benchmarks/compiled_generation.py       # any backend; on a GPU as on the CPU

The seed network of lesson 11 (MLP 784-128-10, 101,770 parameters), MNIST mini-batches of --batch-size images,
``neg_loss``, Adam with a decaying learning rate (a new value every generation, as the benchmark preset). For each
population size, the median seconds of --repeats generations after --warmup generations (compilation included
there, not in the median), for:

  * ask/evaluate/tell: ``strategy.ask()`` (factors drawn on the backend), ``PopulationEvaluator`` (its compiled
    low-rank pass), ``strategy.tell()`` (shaping and the optimizer in NumPy; the center crosses twice);
  * compiled: ``evolab.strategies.CompiledGeneration.step()`` (all of it one compiled function on the backend;
    two scalars in, the scores out).

Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def seconds_per_generation(step, warmup, repeats):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--populations", type=int, nargs="+", default=[256, 2048, 8192])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    import keras

    import evolab
    from evolab.strategies import CompiledGeneration, LowRankES, decay

    data = evolab.data.load_mnist(flatten=True)
    evolab.set_seed(0)
    model = evolab.models.seed_mlp()
    layout = evolab.ParameterLayout.from_model(model)
    center = evolab.get_parameters(model)
    print(f"{os.cpu_count()} cores; {evolab.environment_report()}")
    print(f"\nbackend {keras.backend.backend()}; seed MLP {layout.num_params:,} parameters; batch {args.batch_size}; "
          f"median of {args.repeats} generations after {args.warmup}\n")
    print("| population | ask/evaluate/tell (s) | compiled (s) | speed-up |")
    print("|---:|---:|---:|---:|")
    for population_size in args.populations:
        def strategy():
            return LowRankES(layout.num_params, population_size, center=center, seed=0, layer_shapes=layout.shapes,
                             learning_rate_schedule=decay(0.9995, floor=0.001))

        evaluator = evolab.PopulationEvaluator(model, *data.train, metric="neg_loss", batch_size=args.batch_size,
                                               seed=0)
        eager = strategy()
        python_loop = seconds_per_generation(lambda: eager.tell(evaluator(eager.ask())), args.warmup, args.repeats)
        compiled = seconds_per_generation(CompiledGeneration(strategy(), evaluator).step, args.warmup, args.repeats)
        print(f"| {population_size:,} | {python_loop:.4f} | {compiled:.4f} | {python_loop / compiled:.2f}x |",
              flush=True)


if __name__ == "__main__":
    main()
