"""Search spaces: validation, sampling, grids, unit-cube and binary encodings; results save/load."""

import numpy as np
import pandas as pd
import pytest

from evolab.search import Categorical, Integer, Real, SearchResult, SearchSpace, random_search
from evolab.search.space import as_space


MIXED = {
    "learning_rate": Real(1e-4, 1e-1, log=True),
    "dropout": Real(0.0, 0.5),
    "units": Integer(8, 256, log=True),
    "num_layers": Integer(1, 4),
    "batch_size": Integer(16, 128, step=16),
    "activation": Categorical(["relu", "tanh", "elu"]),
    "shape": [(32,), (64, 32), None],
}


@pytest.mark.parametrize("dimension, message", [
    (Real(1.0, 0.5), "low must be < high"),
    (Real(0.0, 1.0, log=True), "log=True needs low > 0"),
    (Real("a", 1.0), "finite numbers"),
    (Integer(5, 5), "low must be < high"),
    (Integer(0, 10, log=True), "log=True needs low > 0"),
    (Integer(1, 10, step=2, log=True), "log=True needs step=1"),
    (Integer(1.5, 10), "must be an int"),
    (Categorical([]), "must not be empty"),
    (Categorical("abc"), "must be a list or tuple"),
    (3.0, "expected Real, Integer, Categorical"),
    ("relu", "expected Real, Integer, Categorical"),
])
def test_invalid_dimensions_raise_value_error_naming_the_dimension(dimension, message):
    with pytest.raises(ValueError, match=message) as info:
        SearchSpace({"ok": Real(0, 1), "my_param": dimension})
    assert "'my_param'" in str(info.value)


def test_reserved_and_empty_spaces_are_rejected():
    with pytest.raises(ValueError, match="'score'.*reserved"):
        SearchSpace({"score": Real(0, 1)})
    with pytest.raises(ValueError, match="non-empty dict"):
        SearchSpace({})


def test_sampling_is_seeded_and_stays_in_range():
    space = as_space(MIXED)
    first = [space.sample(np.random.default_rng(7)) for _ in range(3)]
    again = [space.sample(np.random.default_rng(7)) for _ in range(3)]
    assert first == again
    samples = [space.sample(np.random.default_rng(s)) for s in range(300)]
    lr = np.array([p["learning_rate"] for p in samples])
    assert lr.min() >= 1e-4 and lr.max() <= 1e-1
    assert np.mean(lr < 1e-2) > 0.5  # log-uniform: two of three decades lie below 1e-2
    assert {p["batch_size"] for p in samples} <= set(range(16, 129, 16))
    assert {p["activation"] for p in samples} == {"relu", "tanh", "elu"}
    units = np.array([p["units"] for p in samples])
    assert units.min() >= 8 and units.max() <= 256 and np.median(units) < 80  # log scale favours small widths


def test_grid_enumerates_every_combination_in_order():
    space = SearchSpace({"a": Real(0, 1, num=3), "b": Integer(1, 3), "c": ["x", "y"]})
    grid = space.grid()
    assert len(grid) == space.grid_size() == 3 * 3 * 2
    assert grid[0] == {"a": 0.0, "b": 1, "c": "x"} and grid[1] == {"a": 0.0, "b": 1, "c": "y"}
    assert [p["lr"] for p in SearchSpace({"lr": Real(1e-3, 1e-1, log=True, num=3)}).grid()] == pytest.approx(
        [1e-3, 1e-2, 1e-1])
    assert [p["lr"] for p in SearchSpace({"lr": Real(0, 1, points=[0.1, 0.7])}).grid()] == [0.1, 0.7]
    assert [p["u"] for p in SearchSpace({"u": Integer(1, 1000, log=True, num=4)}).grid()] == [1, 10, 100, 1000]


def test_unit_cube_round_trip_and_decoding_any_point():
    space = as_space(MIXED)
    rng = np.random.default_rng(0)
    for _ in range(200):
        params = space.sample(rng)
        u = space.encode(params)
        assert u.shape == (len(space),) and np.all((u >= 0) & (u <= 1))
        back = space.decode(u)
        for name, value in params.items():
            if isinstance(value, float):
                assert back[name] == pytest.approx(value, rel=1e-9, abs=1e-12)
            else:
                assert back[name] == value
    # any point, even outside the cube, decodes to valid params
    for u in rng.uniform(-0.5, 1.5, size=(100, len(space))):
        params = space.decode(u)
        assert 1e-4 <= params["learning_rate"] <= 1e-1 and params["num_layers"] in (1, 2, 3, 4)
    with pytest.raises(ValueError, match="expected a vector of 7"):
        space.decode([0.5, 0.5])


def test_binary_round_trip():
    space = as_space(MIXED)
    assert space.num_bits() == 8 + 8 + 8 + 2 + 3 + 2 + 2
    rng = np.random.default_rng(1)
    for _ in range(200):
        params = space.sample(rng)
        bits = space.encode_bits(params)
        assert bits.shape == (space.num_bits(),) and set(np.unique(bits)) <= {0, 1}
        back = space.decode_bits(bits)
        for name in ("units", "num_layers", "batch_size", "activation", "shape"):
            assert back[name] == params[name]
        assert back["dropout"] == pytest.approx(params["dropout"], abs=0.5 / 255 + 1e-12)
        assert np.log(back["learning_rate"]) == pytest.approx(np.log(params["learning_rate"]), abs=np.log(1e3) / 255)
    # every bit string decodes to valid params, and a decoded point re-encodes to the same bits for Reals
    for bits in rng.integers(0, 2, size=(100, space.num_bits())):
        params = space.decode_bits(bits)
        assert params["batch_size"] in range(16, 129, 16)
        assert space.encode_bits(params)[:16].tolist() == bits[:16].tolist()
    with pytest.raises(ValueError, match="expected 33 bits"):
        space.decode_bits([0, 1])


def _result():
    space = {"x": Real(-1, 1), "kind": ["a", "b"], "n": Integer(1, 5)}

    def objective(params):
        if params["n"] == 5:
            raise RuntimeError("n=5 is broken")
        return -params["x"] ** 2

    return random_search(objective, space, n_trials=15, seed=3)


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_save_load_round_trip(tmp_path, suffix):
    result = _result()
    assert (result.trials["status"] == "failed").any()
    path = result.save(tmp_path / f"search{suffix}")
    loaded = SearchResult.load(path)
    assert loaded.best_params == result.best_params
    assert loaded.best_score == pytest.approx(result.best_score)
    columns = ["x", "kind", "n", "number", "score", "status", "error", "worker"]
    pd.testing.assert_frame_equal(loaded.trials[columns], result.trials[columns], check_dtype=False)
    assert (loaded.trials["start"] - result.trials["start"]).abs().max() < pd.Timedelta("1ms")
    if suffix == ".json":
        assert loaded.method == "random" and loaded.stopped_by == result.stopped_by
    with pytest.raises(ValueError, match=r"\.json or \.csv"):
        result.save(tmp_path / "search.txt")


def test_best_so_far_ignores_failures():
    result = _result()
    curve = result.best_so_far()
    assert len(curve) == len(result.trials) and curve.index[0] == 1
    assert curve.is_monotonic_increasing or curve.dropna().is_monotonic_increasing
    assert curve.iloc[-1] == pytest.approx(result.best_score)
    assert result.best_at(1000) == pytest.approx(result.best_score)


def test_a_huge_integer_range_costs_nothing_until_a_grid_is_asked_for():
    # Found by tests/test_properties.py: Integer.values() built a list, so sampling Integer(0, 10**9) took 24 GB.
    space = SearchSpace({"seed": Integer(0, 10**12), "units": Integer(1, 4)})
    params = space.sample(np.random.default_rng(0))
    assert 0 <= params["seed"] <= 10**12
    assert space.decode(space.encode(params)) == params
    assert space.grid_size() == (10**12 + 1) * 4
    with pytest.raises(ValueError, match=r"the grid has 4,000,000,000,004 points \(seed: 1,000,000,000,001, "
                                         r"units: 4\), more than the 1,000,000 grid search lists; give .* num="):
        space.grid()
    assert len(SearchSpace({"seed": Integer(0, 10**12, num=5)}).grid()) == 5


def test_rounded_grid_points_stay_inside_the_bounds():
    # Found by tests/test_properties.py: 12-digit rounding put the top grid point above `high`.
    high = 1.6473150847189117
    assert max(p["a"] for p in SearchSpace({"a": Real(0.0, high)}).grid()) <= high
    assert SearchSpace({"lr": Real(1e-4, 1e-1, log=True, num=4)}).grid()[2] == {"lr": 0.01}
    narrow = [p["a"] for p in SearchSpace({"a": Real(1e6, 1e6 + 1e-5, num=5)}).grid()]
    assert len(set(narrow)) == 5  # far from zero and narrow: the points keep their digits and stay distinct
