"""The ``evolab`` command: ``evolab demo`` and ``evolab neuroevolve ...``.

Every run writes to its ``--out`` folder: ``history.csv`` and ``history.json``
(one row per generation), ``curves.png``, ``metrics.json`` (final numbers and
the settings) and ``checkpoint.pkl`` (for ``--resume``).

Introduced in 10_neuroevolution_at_scale.ipynb.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .data import DataNotFoundError

__all__ = ["main", "run_neuroevolution"]

DATASETS = ("digits", "mnist", "fashion_mnist")
MODELS = ("mlp", "seed_mlp", "cnn")
# The names evolab.neuroevolve knows (evolab.strategies.STRATEGIES; tests/test_cli.py checks that they agree). Written
# out, not imported: evolab.strategies loads Keras, and a usage error should come at once, before TensorFlow starts.
STRATEGIES = ("ga", "lowrank_es", "openai_es", "pgpe", "snes")


def _load(dataset, model_name, data_dir, train_size, seed):
    from . import data

    flatten = model_name != "cnn"
    if dataset == "digits":
        return data.load_digits(flatten=flatten, seed=seed)
    loader = data.load_mnist if dataset == "mnist" else data.load_fashion_mnist
    return loader(data_dir=data_dir, flatten=flatten, train_size=train_size, seed=seed)


def run_neuroevolution(*, dataset="digits", model="mlp", strategy="pgpe", population_size=64, generations=300,
                       batch_size=256, seed=0, out="results/run", resume=False, overwrite=False, data_dir=None,
                       train_size=None,
                       checkpoint_every=25, hidden_units=None, progress_bar=True, **strategy_options):
    """Runs :func:`evolab.neuroevolve` from plain settings and writes every output file.

    Returns:
        ``(result, metrics)``: the :class:`evolab.NeuroevolutionResult` and the dict written to ``metrics.json``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from . import models, plot
    from .neuro import neuroevolve
    from .runtime import environment_report, set_seed

    if dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}; expected one of {DATASETS}")
    if model not in MODELS:
        raise ValueError(f"Unknown model {model!r}; expected one of {MODELS}")
    out = Path(out)
    if out.exists() and not out.is_dir():  # found before the data are loaded, not by mkdir after
        raise ValueError(f"out={str(out)!r} is a file; expected a folder (new or existing) for the run's outputs")
    set_seed(seed)
    data = _load(dataset, model, data_dir, train_size, seed)
    options = {"hidden_units": tuple(hidden_units)} if hidden_units and model == "mlp" else {}
    network = models.build(model, data.input_shape, data.num_classes, **options)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = neuroevolve(network, data.train, data.validation, data.test, strategy=strategy,
                         population_size=population_size, num_generations=generations, batch_size=batch_size,
                         seed=seed, checkpoint=out / "checkpoint.pkl", checkpoint_every=checkpoint_every,
                         resume=resume, overwrite=overwrite, progress_bar=progress_bar, **strategy_options)
    seconds = time.perf_counter() - started
    result.history.to_csv(out / "history.csv", index=False)
    result.history.to_json(out / "history.json", orient="records", indent=1)
    figure = plot.history(result.history)
    figure.savefig(out / "curves.png", dpi=80)
    metrics = {
        "dataset": dataset, "model": model, "num_params": int(result.best_parameters.size),
        "strategy": strategy, "population_size": population_size, "generations_completed": result.num_generations,
        "batch_size": batch_size, "seed": seed, "best_val_accuracy": result.best_val_accuracy,
        "test_accuracy": result.test_accuracy, "stopped": result.stopped, "seconds_this_session": round(seconds, 2),
        "wall_time_total": float(result.history["wall_time"].iloc[-1]) if len(result.history) else 0.0,
        "environment": environment_report(), "strategy_options": {k: repr(v) for k, v in strategy_options.items()},
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return result, metrics


def _count(minimum):
    """An argparse type: an integer >= ``minimum`` (a bad value is a one-line usage error, exit status 2)."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, received {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, received {value}")
        return value
    return parse


def _parser():
    formatter = argparse.ArgumentDefaultsHelpFormatter  # every option's help line ends with its default
    parser = argparse.ArgumentParser(prog="evolab", description="Neuroevolution and hyperparameter search, taught.",
                                     formatter_class=formatter)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="evolve an MLP on the bundled digits (about a minute on a laptop)",
                               formatter_class=formatter)
    demo.add_argument("--out", default="results/demo", help="folder for the history, curves and metrics")
    demo.add_argument("--seed", type=int, default=0, help="random seed (same seed, same run on the CPU)")

    run = commands.add_parser("neuroevolve", help="evolve a network's weights with an ask/tell strategy",
                              formatter_class=formatter)
    run.add_argument("--dataset", choices=DATASETS, default="digits", help="the data set")
    run.add_argument("--model", choices=MODELS, default="mlp", help="the network whose weights evolve")
    run.add_argument("--hidden-units", type=_count(1), nargs="+", default=None,
                     help="widths of the mlp's hidden layers; None: the model's own, 32")
    run.add_argument("--strategy", choices=STRATEGIES, default="pgpe", help="the ask/tell strategy")
    run.add_argument("--population-size", type=_count(2), default=64, help="candidate networks per generation")
    run.add_argument("--generations", type=_count(1), default=300, help="generations to run")
    run.add_argument("--batch-size", type=_count(1), default=256,
                     help="training examples each generation scores its population on")
    run.add_argument("--seed", type=_count(0), default=0, help="random seed (same seed, same run on the CPU)")
    run.add_argument("--out", default="results/run", help="folder for the checkpoint, history, curves and metrics")
    run.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pkl")
    run.add_argument("--overwrite", action="store_true", help="start afresh, replacing OUT/checkpoint.pkl")
    run.add_argument("--checkpoint-every", type=_count(1), default=25, help="generations between checkpoints")
    run.add_argument("--data-dir", default=None,
                     help="folder with mnist.npz or the IDX files; None: EVOLAB_DATA_DIR, then the Keras cache, "
                          "then a download")
    run.add_argument("--train-size", type=_count(1), default=None,
                     help="use only this many training images; None: all")
    evolution_strategies = ", ".join(name for name in STRATEGIES if name != "ga")
    run.add_argument("--learning-rate", type=float, default=None,
                     help=f"the center's step size, for every evolution strategy ({evolution_strategies}); "
                          "None: the strategy's own")
    run.add_argument("--sigma", type=float, default=None,
                     help=f"the initial noise scale, for every evolution strategy ({evolution_strategies}); "
                          "None: the strategy's own")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _report(metrics, out):
    test = metrics["test_accuracy"]
    print(f"{metrics['strategy']} on {metrics['dataset']} ({metrics['model']}, {metrics['num_params']:,} parameters): "
          f"{metrics['generations_completed']} generations, best validation accuracy "
          f"{metrics['best_val_accuracy']:.4f}, test accuracy {test:.4f}, {metrics['seconds_this_session']:.1f} s")
    print(f"Outputs written to {out}/ (history.csv, history.json, curves.png, metrics.json, checkpoint.pkl)")


def main(argv=None):
    """Entry point of the ``evolab`` command."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        print("evolab demo: evolving the 2,410 weights of a 64-32-10 MLP on scikit-learn's digits with PGPE")
        _, metrics = run_neuroevolution(dataset="digits", model="mlp", strategy="pgpe", population_size=64,
                                        generations=400, batch_size=256, seed=args.seed, out=args.out,
                                        overwrite=True)  # a demo run again replaces its own outputs
        _report(metrics, args.out)
        if metrics["test_accuracy"] < 0.93:
            print("The demo fell short of its 93% target.", file=sys.stderr)
            return 1
        return 0
    options = {k: v for k, v in (("learning_rate", args.learning_rate), ("sigma", args.sigma)) if v is not None}
    if args.train_size is not None and args.dataset == "digits":
        print("evolab: warning: --train-size applies to mnist and fashion_mnist; digits uses all its images",
              file=sys.stderr)
    if args.hidden_units and args.model == "cnn":
        print("evolab: warning: --hidden-units applies to --model mlp; the cnn keeps its layers", file=sys.stderr)
    if args.resume and not (Path(args.out) / "checkpoint.pkl").exists():
        print(f"evolab: note: --resume found no {Path(args.out) / 'checkpoint.pkl'}; starting a new run",
              file=sys.stderr)
    try:
        _, metrics = run_neuroevolution(
            dataset=args.dataset, model=args.model, strategy=args.strategy, population_size=args.population_size,
            generations=args.generations, batch_size=args.batch_size, seed=args.seed, out=args.out,
            resume=args.resume, overwrite=args.overwrite, data_dir=args.data_dir, train_size=args.train_size,
            checkpoint_every=args.checkpoint_every, hidden_units=args.hidden_units,
            progress_bar=not args.no_progress, **options)
    except (ValueError, DataNotFoundError) as error:  # a bad setting, missing data, an unusable checkpoint: one line
        print(f"evolab: error: {error}", file=sys.stderr)
        return 2
    _report(metrics, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
