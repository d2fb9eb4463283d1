"""Keras objectives and evolutionary architecture search (tiny: digits, one or two epochs)."""

import random

import keras
import numpy as np
import pytest

from evolab import search
from evolab.search import Categorical, Integer, Real
from evolab.search.architecture import crossover_layers, mutate_layers, random_layer


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    return (x[:600], y[:600]), (x[600:900], y[600:900])


def build(params):
    return search.build_mlp([{"units": params["units"], "activation": params["activation"]}], (64,), 10)


def test_keras_objective_trains_scores_on_validation_and_reports_epochs(digits, monkeypatch):
    calls = {"clear_session": 0}
    original = keras.backend.clear_session

    def counting_clear_session(*args, **kwargs):
        calls["clear_session"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(keras.backend, "clear_session", counting_clear_session)
    objective = search.keras_objective(build, digits, epochs=2, batch_size=64, seed=0)
    space = {"units": Integer(16, 64), "activation": Categorical(["relu", "tanh"]),
             "learning_rate": Real(3e-3, 3e-2, log=True)}
    result = search.random_search(objective, space, n_trials=3, seed=0)
    trials = result.trials
    assert (trials["status"] == "ok").all()
    assert trials["score"].between(0.3, 1.0).all()  # two epochs on 600 digits already beat chance (0.1) by far
    assert trials["intermediate"].map(sorted).tolist() == [[0, 1]] * 3
    assert trials["score"].tolist() == [d[1] for d in trials["intermediate"]]
    assert calls["clear_session"] >= 3
    again = objective(result.best_params)  # seeded: the same params give the same score
    assert again == pytest.approx(result.best_score, abs=1e-6)
    losses = search.keras_objective(build, digits, epochs=1, metric="neg_loss", seed=0)
    assert losses({"units": 16, "activation": "relu"}) < 0


def test_keras_objective_validates_its_arguments(digits):
    with pytest.raises(ValueError, match="metric must be 'accuracy' or 'neg_loss'; received 'f1'"):
        search.keras_objective(build, digits, metric="f1")
    with pytest.raises(ValueError, match="epochs must be a positive int; received 0"):
        search.keras_objective(build, digits, epochs=0)
    with pytest.raises(ValueError, match="validation"):
        search.keras_objective(build, {"train": digits[0]})


def test_layer_mutations_and_crossover_stay_in_bounds():
    random.seed(0)
    options = {"min_layers": 1, "max_layers": 3, "min_units": 8, "max_units": 64}
    genome = [random_layer(8, 64) for _ in range(2)]
    lengths, seen_units = set(), set()
    for _ in range(300):
        genome = mutate_layers(genome, **options)
        lengths.add(len(genome))
        seen_units.update(layer["units"] for layer in genome)
        assert 1 <= len(genome) <= 3 and all(8 <= layer["units"] <= 64 for layer in genome)
    assert lengths == {1, 2, 3}  # layers were added and removed
    assert len(seen_units) > 10  # and resized
    first, second = [random_layer() for _ in range(3)], [random_layer() for _ in range(2)]
    for _ in range(50):
        a, b = crossover_layers(first, second, min_layers=1, max_layers=3)
        assert 1 <= len(a) <= 3 and 1 <= len(b) <= 3
        assert all(layer in first + second for layer in a + b)


def test_architecture_search_prefers_the_better_architectures():
    # A cheap stand-in for training: wide, shallow ReLU networks score best.
    def objective(params):
        layers = params["layers"]
        width = np.mean([layer["units"] for layer in layers])
        relu = np.mean([layer["activation"] == "relu" for layer in layers])
        return np.log2(width) / 8 + relu - 0.3 * len(layers)

    result = search.architecture_search(objective, n_trials=120, population_size=12, max_layers=4, seed=0)
    best = result.best_params["layers"]
    assert len(best) == 1 and best[0]["activation"] == "relu" and best[0]["units"] > 100
    first_generation = result.trials["score"].iloc[:12].max()
    assert result.best_score > first_generation
    assert result.trials["layers"].map(len).nunique() > 1
    assert not result.trials["layers"].map(repr).duplicated().any()  # each architecture trained once


def test_architecture_search_with_keras_training(digits, tmp_path):
    def build_compiled(params):  # a builder may compile the model itself
        model = search.build_mlp(params["layers"], (64,), 10)
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    objective = search.keras_objective(build_compiled, digits, epochs=2, batch_size=64, seed=0)
    result = search.architecture_search(objective, n_trials=6, population_size=3, max_layers=2, max_units=32,
                                        seed=0, checkpoint=tmp_path / "arch.pkl")
    assert len(result.trials) == 6 and (result.trials["status"] == "ok").all()
    assert 1 <= len(result.best_params["layers"]) <= 2 and result.best_score > 0.3
    for suffix in (".json", ".csv"):  # the layers column (lists of dicts) survives both formats
        loaded = search.SearchResult.load(result.save(tmp_path / f"arch{suffix}"))
        assert loaded.best_params == result.best_params


def test_keras_objective_leaves_the_search_random_streams_alone():
    """Seeding each trial must not rewind Python's or NumPy's global generators (GA/CMA-ES draw from them)."""
    import random

    import numpy as np

    from evolab.data import load_digits
    from evolab.search import keras_objective

    data = load_digits()
    objective = keras_objective(lambda params: evolab_mlp(data), data, epochs=1, seed=0)
    random.seed(5)
    np.random.seed(5)
    objective({"learning_rate": 1e-3})
    after_first = (random.random(), np.random.rand())
    objective({"learning_rate": 1e-3})
    after_second = (random.random(), np.random.rand())
    assert after_first != after_second  # the streams moved on instead of being reset to the same point


def evolab_mlp(data):
    import evolab

    return evolab.models.mlp(data.input_shape, hidden_units=(8,))
