"""How fast can a population be scored? The seed's path, the best per-individual loop, and evolab's batched pass.

Usage:
    python benchmarks/population_eval.py [--population-size 32] [--num-examples 1024] [--repeats 5]

Prints two markdown tables: the seed MLP (784-128-10) on MNIST images (or random images of the same shape when
MNIST is not on disk), and the 2,410-parameter digits MLP. Every path scores the same individuals on the same
data; the tables show evaluations per second, the speed-up, the achieved GFLOP/s beside the machine's measured
dense matmul peak, and the largest score difference from the per-individual reference.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import evolab  # noqa: E402


def best_time(function, repeats):
    function()  # warm-up (tracing, caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_peak(repeats=5):
    """GFLOP/s of one large float32 matrix product on the backend (the machine's practical ceiling)."""
    a = keras.ops.convert_to_tensor(np.random.default_rng(0).standard_normal((2048, 2048)).astype(np.float32))

    def product():
        keras.ops.convert_to_numpy(keras.ops.matmul(a, a))

    return 2 * 2048**3 / best_time(product, repeats) / 1e9


def dense_flops(model):
    """Multiply-adds of the model's Dense layers per example, times two."""
    return sum(2 * int(np.prod(layer.kernel.shape)) for layer in model.layers if hasattr(layer, "kernel"))


def compare(model, x, y, population_size, repeats, include_predict):
    base = evolab.get_parameters(model)
    rng = np.random.default_rng(0)
    population = base + 0.05 * rng.standard_normal((population_size, base.size)).astype(np.float32)

    def seed_path():  # what the seed lesson does: set the weights, model.predict per individual
        out = []
        for individual in population:
            evolab.set_parameters(model, individual)
            out.append(np.mean(model.predict(x, verbose=0).argmax(1) == y))
        return np.array(out)

    single = evolab.keras_fitness(model, x, y)

    def loop_path():  # the best per-individual loop: set the weights, call the model directly
        return np.array([single(individual)[0] for individual in population])

    evaluator = evolab.PopulationEvaluator(model, x, y, metric="accuracy")

    def batched_path():
        return evaluator(population)

    reference = loop_path()
    rows = []
    paths = [("seed: set_parameters + predict", seed_path)] if include_predict else []
    paths += [("loop: set_parameters + model(x)", loop_path), ("evolab PopulationEvaluator", batched_path)]
    flops = dense_flops(model) * len(x) * population_size
    for name, path in paths:
        seconds = best_time(path, repeats if path is not seed_path else max(1, repeats // 2))
        difference = float(np.abs(path() - reference).max())
        rows.append((name, seconds, population_size / seconds, flops / seconds / 1e9, difference))
    return rows


def table(title, rows, peak):
    slowest = rows[0][1]
    loop = next(seconds for name, seconds, *_ in rows if name.startswith("loop"))
    print(f"\n{title}\n")
    print("| path | seconds per population | evaluations/s | speed-up vs first row | speed-up vs loop | "
          "GFLOP/s (peak %.0f) | max score difference |" % peak)
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, seconds, rate, gflops, difference in rows:
        print(f"| {name} | {seconds:.4f} | {rate:,.0f} | {slowest / seconds:,.1f}x | {loop / seconds:,.1f}x | "
              f"{gflops:.1f} | {difference:.1e} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population-size", type=int, default=32)
    parser.add_argument("--num-examples", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    evolab.set_seed(0)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {evolab.environment_report()}")
    peak = matmul_peak()
    try:
        data = evolab.data.load_mnist(flatten=True, download=False)
        x, y = data.train[0][:args.num_examples], data.train[1][:args.num_examples]
        source = "MNIST"
    except evolab.data.DataNotFoundError:
        rng = np.random.default_rng(0)
        x = rng.random((args.num_examples, 784), dtype=np.float32)
        y = rng.integers(0, 10, args.num_examples)
        source = "random images (MNIST not found)"
    rows = compare(evolab.models.seed_mlp(), x, y, args.population_size, args.repeats, include_predict=True)
    table(f"Seed MLP (101,770 parameters), population {args.population_size}, {len(x)} {source} examples", rows, peak)

    digits = evolab.data.load_digits()
    model = evolab.models.mlp(digits.input_shape)
    rows = compare(model, *digits.train, 50, args.repeats, include_predict=True)
    table(f"Digits MLP (2,410 parameters), population 50, {len(digits.train[0])} examples", rows, peak)


if __name__ == "__main__":
    main()
