"""Peak memory of neuroevolution: the seed MLP with a population of 256 (target: within 2 GB).

Usage:
    python benchmarks/memory.py [--population-size 256] [--generations 10] [--strategy openai_es]

Runs `evolab.neuroevolve` on MNIST (random images of the same shape when MNIST is not on disk) and prints the peak
resident memory of the process (ru_maxrss), before and after the run, as a markdown table.
"""

from __future__ import annotations

import argparse
import os
import resource

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import evolab  # noqa: E402


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population-size", type=int, default=256)
    parser.add_argument("--generations", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--strategy", default="openai_es")
    args = parser.parse_args()
    evolab.set_seed(0)
    try:
        data = evolab.data.load_mnist(flatten=True, download=False)
        train, validation = data.train, data.validation
    except evolab.data.DataNotFoundError:
        rng = np.random.default_rng(0)
        train = (rng.random((50_000, 784), dtype=np.float32), rng.integers(0, 10, 50_000))
        validation = (rng.random((10_000, 784), dtype=np.float32), rng.integers(0, 10, 10_000))
    model = evolab.models.seed_mlp()
    before = peak_mib()
    result = evolab.neuroevolve(model, train, validation, strategy=args.strategy,
                                population_size=args.population_size, num_generations=args.generations,
                                batch_size=args.batch_size, seed=0, progress_bar=False)
    after = peak_mib()
    print(f"| strategy | parameters | population | batch | generations | peak MiB before run | peak MiB after run |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| {args.strategy} | {evolab.count_parameters(model):,} | {args.population_size} | {args.batch_size} | "
          f"{result.num_generations} | {before:,.0f} | {after:,.0f} |")


if __name__ == "__main__":
    main()
