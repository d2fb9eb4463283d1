"""Throughput of the low-rank evaluation against the full-rank evaluator and plain inference, with peak memory.

Usage:
    EVOLAB_DATA_DIR=../shared/data python benchmarks/lowrank_throughput.py [--populations 256 1024 4096 16384]

The seed MLP (784-128-10, 101,770 parameters), MNIST mini-batches of --batch-size images. For each population
size, one fresh process per method measures the steady-state seconds per evaluation of the whole population
(median of --repeats calls after a warm-up call) and its own peak resident memory (the whole process: Python,
the backend and the data). Printed as a markdown table of members x images per second:

  * low-rank: ``PopulationEvaluator`` on a ``LowRankES`` population (factors, never materialized members);
  * full-rank: ``PopulationEvaluator`` on a dense ``(population_size, num_params)`` array (OpenAI-ES's);
  * inference: the model's plain forward pass over population x batch images with one set of weights, the
    limit that any population evaluation approaches from below.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def worker(method, population_size, batch_size, repeats):
    import numpy as np

    import evolab

    data = evolab.data.load_mnist(flatten=True)
    evolab.set_seed(0)
    model = evolab.models.seed_mlp()
    layout = evolab.ParameterLayout.from_model(model)
    center = evolab.get_parameters(model)
    evaluator = evolab.PopulationEvaluator(model, *data.train, metric="neg_loss", batch_size=batch_size, seed=0)
    if method == "low-rank":
        strategy = evolab.strategies.LowRankES(layout.num_params, population_size, center=center,
                                               layer_shapes=layout.shapes, seed=0)
        call = lambda: evaluator(strategy.ask())  # noqa: E731 - the same population each time (no tell)
    elif method == "full-rank":
        strategy = evolab.strategies.OpenAIES(layout.num_params, population_size, center=center, seed=0)
        population = strategy.ask()
        call = lambda: evaluator(population)  # noqa: E731
    else:  # one forward pass over population x batch images, in slices of 16,384 images
        import keras

        images = data.train[0][:16_384]
        passes = max(1, population_size * batch_size // len(images))
        forward = keras.ops.convert_to_tensor(images)

        def call():
            for _ in range(passes):
                keras.ops.convert_to_numpy(model(forward, training=False))
    call()  # warm-up: tracing and compilation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    seconds = float(np.median(times))
    if method == "inference":
        seconds *= population_size * batch_size / (max(1, population_size * batch_size // 16_384) * 16_384)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"method": method, "population_size": population_size, "seconds": seconds,
            "member_images_per_second": population_size * batch_size / seconds, "peak_mib": peak_mib}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--populations", type=int, nargs="+", default=[256, 1024, 4096, 16384])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--full-rank-limit", type=int, default=4096,
                        help="largest population for the dense evaluator (its array is 0.4 MB per member)")
    parser.add_argument("--worker", default=None)
    parser.add_argument("--population-size", type=int, default=None)
    args = parser.parse_args()
    if args.worker:
        print("ROW " + json.dumps(worker(args.worker, args.population_size, args.batch_size, args.repeats)),
              flush=True)
        return
    import evolab

    print(f"{os.cpu_count()} cores; {evolab.environment_report()}")
    rows = {}
    for size in args.populations:
        for method in ("low-rank", "full-rank", "inference"):
            if method == "full-rank" and size > args.full_rank_limit:
                continue
            done = subprocess.run([sys.executable, __file__, "--worker", method, "--population-size", str(size),
                                   "--batch-size", str(args.batch_size), "--repeats", str(args.repeats)],
                                  capture_output=True, text=True)
            lines = [line for line in done.stdout.splitlines() if line.startswith("ROW ")]
            if done.returncode or not lines:
                print(f"{method} at {size} failed:\n{done.stderr[-1500:]}", file=sys.stderr)
                continue
            rows[(size, method)] = json.loads(lines[-1][4:])
            print(json.dumps(rows[(size, method)]), file=sys.stderr, flush=True)
    print(f"\nSeed MLP 784-128-10 (101,770 parameters), batch {args.batch_size}, neg_loss; members x images per "
          "second (peak resident MiB of the whole process)\n")
    print("| population | low-rank | full-rank | inference | low-rank / full-rank | inference / low-rank |")
    print("|---:|---:|---:|---:|---:|---:|")
    for size in args.populations:
        cells, rates = [], {}
        for method in ("low-rank", "full-rank", "inference"):
            row = rows.get((size, method))
            if row is None:
                cells.append("n/a")
                continue
            rates[method] = row["member_images_per_second"]
            cells.append(f"{rates[method]:,.0f} ({row['peak_mib']:,.0f} MiB)")
        versus = f"{rates['low-rank'] / rates['full-rank']:.1f}x" if {"low-rank", "full-rank"} <= set(rates) else "n/a"
        limit = f"{rates['inference'] / rates['low-rank']:.2f}x" if {"low-rank", "inference"} <= set(rates) else "n/a"
        print(f"| {size:,} | " + " | ".join(cells) + f" | {versus} | {limit} |")


if __name__ == "__main__":
    main()
