import json
import re

import pandas as pd
import pytest

from evolab import cli


def test_neuroevolve_command_writes_every_output_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["neuroevolve", "--dataset", "digits", "--model", "mlp", "--strategy", "snes", "--population-size", "16",
            "--generations", "6", "--seed", "3", "--out", str(out), "--checkpoint-every", "2", "--no-progress"]
    assert cli.main(args) == 0
    for name in ("history.csv", "history.json", "curves.png", "metrics.json", "checkpoint.pkl"):
        assert (out / name).stat().st_size > 0, name
    history = pd.read_csv(out / "history.csv")
    assert len(history) == 6 and "val_accuracy" in history
    assert len(json.loads((out / "history.json").read_text())) == 6
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["strategy"] == "snes" and metrics["generations_completed"] == 6 and 0 <= metrics["test_accuracy"] <= 1
    assert "test accuracy" in capsys.readouterr().out
    resumed = args[:args.index("--generations") + 1] + ["9"] + args[args.index("--generations") + 2:] + ["--resume"]
    assert cli.main(resumed) == 0
    assert len(pd.read_csv(out / "history.csv")) == 9


def test_demo_reaches_its_target(tmp_path):
    assert cli.main(["demo", "--out", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.93 and metrics["dataset"] == "digits"


def test_bad_choices_are_rejected(tmp_path):
    with pytest.raises(SystemExit):
        cli.main(["neuroevolve", "--strategy", "annealing", "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="Unknown dataset"):
        cli.run_neuroevolution(dataset="cifar", out=tmp_path)


@pytest.mark.parametrize("strategy", ["openai_es", "pgpe", "snes", "lowrank_es"])
def test_learning_rate_and_sigma_reach_every_evolution_strategy(tmp_path, strategy):
    import pickle

    args = ["neuroevolve", "--strategy", strategy, "--population-size", "8", "--generations", "2", "--out",
            str(tmp_path), "--no-progress", "--learning-rate", "0.05", "--sigma", "0.07"]
    assert cli.main(args) == 0
    with open(tmp_path / "checkpoint.pkl", "rb") as f:
        saved = pickle.load(f)["strategy"]["hyperparameters"]
    assert saved["learning_rate"] == "0.05" and saved["sigma"] == "0.07"
    assert json.loads((tmp_path / "metrics.json").read_text())["strategy_options"] == {
        "learning_rate": "0.05", "sigma": "0.07"}


def test_the_strategy_list_is_the_registry_and_the_ga_names_its_own_words(tmp_path, capsys):
    from evolab.strategies import STRATEGIES

    assert set(cli.STRATEGIES) == set(STRATEGIES)
    assert cli.main(["neuroevolve", "--strategy", "ga", "--generations", "1", "--sigma", "0.1", "--out",
                     str(tmp_path), "--no-progress"]) == 2  # one line, no traceback
    assert "sigma -> mutation_sigma" in capsys.readouterr().err


def test_every_option_has_a_help_line_that_shows_its_default(capsys):
    # Issue 17: `evolab neuroevolve --help` listed most options with no description and no default.
    from evolab import cli

    parser = cli._parser()
    commands = next(a for a in parser._actions if isinstance(a, type(parser._subparsers._group_actions[0])))
    for name, sub in commands.choices.items():
        for action in sub._actions:
            if action.dest != "help":
                assert action.help, f"evolab {name} {action.option_strings}: no help line"
        with pytest.raises(SystemExit):
            sub.parse_args(["--help"])
        shown = capsys.readouterr().out
        assert len(re.findall(r"\(default:\s", shown)) == len([a for a in sub._actions if a.dest != "help"]), name
        if name == "neuroevolve":
            assert re.search(r"candidate networks per generation\s+\(default:\s+64\)", shown)
