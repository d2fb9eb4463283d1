"""MNIST by pure neuroevolution: test accuracy against wall time, per strategy and network.

Usage:
    python benchmarks/mnist_neuroevolution.py [--minutes 15] [--configs pgpe:mlp openai_es:mlp ...] [--out DIR]
    KERAS_BACKEND=jax python benchmarks/mnist_neuroevolution.py --minutes 10 --configs pgpe:cnn   # on a GPU

Each configuration runs `evolab.neuroevolve` for a fixed wall-time budget on MNIST (50,000 training images,
10,000 validation images used for selection, the 10,000 test images scored once at the end) and prints a
markdown table: generations done, best validation accuracy after 1, 2, 5, 10 and 15 minutes, and the final test
accuracy. Histories are written to --out as CSV for plotting.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import evolab  # noqa: E402
from evolab.callbacks import TimeLimit  # noqa: E402

# Tuned settings per (strategy, network); anything here can be overridden with --options JSON.
PRESETS = {
    ("pgpe", "mlp"): dict(population_size=256, batch_size=256, learning_rate=0.01, sigma=0.04),
    ("openai_es", "mlp"): dict(population_size=128, batch_size=512, learning_rate=0.015, sigma=0.02,
                               learning_rate_schedule=evolab.strategies.decay(0.999, floor=0.002)),
    ("snes", "mlp"): dict(population_size=256, batch_size=256),
    ("ga", "mlp"): dict(population_size=256, batch_size=256, num_elites=4),
    ("pgpe", "cnn"): dict(population_size=256, batch_size=256, learning_rate=0.03, sigma=0.05),
    ("openai_es", "cnn"): dict(population_size=256, batch_size=256, learning_rate=0.02, sigma=0.03),
    ("snes", "cnn"): dict(population_size=256, batch_size=256),
    ("ga", "cnn"): dict(population_size=256, batch_size=256, num_elites=4),
    # the low-rank strategy affords a wider network and a larger population: members cost little more than inference
    # (the decaying learning rate: 0.9652 test in 15 minutes against 0.9591 at a constant 0.005, docs/results.md 2b)
    ("lowrank_es", "mlp"): dict(population_size=2048, batch_size=256, learning_rate=0.005, sigma=0.02,
                                learning_rate_schedule=evolab.strategies.decay(0.9995, floor=0.001),
                                hidden_units=[128]),
}
MILESTONES = (1, 2, 5, 10, 15)


def from_json(options):
    """--options as neuroevolve keywords: a schedule is written {"decay": rate, "floor": value}."""
    return {key: evolab.strategies.decay(value["decay"], floor=value.get("floor", 0.0))
            if key.endswith("_schedule") and isinstance(value, dict) else value for key, value in options.items()}


def run(strategy, network, minutes, hidden_units, options, out):
    settings = dict(PRESETS.get((strategy, network), dict(population_size=256, batch_size=256)))
    settings.update(options)
    hidden_units = tuple(settings.pop("hidden_units", hidden_units))
    evolab.set_seed(0)
    data = evolab.data.load_mnist(flatten=network != "cnn")
    if network == "cnn":
        model = evolab.models.cnn(data.input_shape)
    else:
        model = evolab.models.mlp(data.input_shape, hidden_units=hidden_units)
    result = evolab.neuroevolve(model, data.train, data.validation, data.test, strategy=strategy,
                                num_generations=10**7, seed=0, validation_every=10, progress_bar=False,
                                callbacks=[TimeLimit(minutes * 60)], **settings)
    history = result.history
    history.to_csv(out / f"{strategy}_{network}.csv", index=False)
    reached = {}
    for milestone in MILESTONES:
        within = history[history["wall_time"] <= milestone * 60]
        reached[milestone] = float(within["best_val_accuracy"].max()) if len(within) else float("nan")
    return {"strategy": strategy, "network": network if network == "cnn" else f"mlp {'-'.join(map(str, (784,) + hidden_units + (10,)))}",
            "num_params": int(result.best_parameters.size),
            "settings": settings, "generations": result.num_generations,
            "seconds": float(history["wall_time"].iloc[-1]), "reached": reached,
            "best_val_accuracy": result.best_val_accuracy, "test_accuracy": result.test_accuracy}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15)
    parser.add_argument("--configs", nargs="+", default=["pgpe:mlp", "openai_es:mlp", "snes:mlp", "ga:mlp",
                                                         "pgpe:cnn"])
    parser.add_argument("--hidden-units", type=int, nargs="+", default=[32], help="the MLP's hidden widths, where "
                        "the preset names none (lowrank_es: 128)")
    parser.add_argument("--options", default="{}", help='JSON of extra neuroevolve/strategy settings for every run, '
                        'e.g. {"sigma": 0.02, "learning_rate_schedule": {"decay": 0.999, "floor": 0.002}}')
    parser.add_argument("--out", default="results/mnist_neuroevolution")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {evolab.environment_report()}")
    rows = []
    for config in args.configs:
        strategy, network = config.split(":")
        row = run(strategy, network, args.minutes, tuple(args.hidden_units), from_json(json.loads(args.options)), out)
        rows.append(row)
        print(json.dumps(row, default=repr), flush=True)
    shown = [m for m in MILESTONES if m <= args.minutes]
    print(f"\n| strategy | network | parameters | population | batch | generations | "
          + " | ".join(f"best val @ {m} min" for m in shown) + " | test accuracy |")
    print("|---|---|---:|---:|---:|---:|" + "---:|" * len(shown) + "---:|")
    for row in rows:
        print(f"| {row['strategy']} | {row['network']} | {row['num_params']:,} | {row['settings']['population_size']} "
              f"| {row['settings']['batch_size']} | {row['generations']} | "
              + " | ".join(f"{row['reached'][m]:.4f}" for m in shown) + f" | {row['test_accuracy']:.4f} |")


if __name__ == "__main__":
    main()
