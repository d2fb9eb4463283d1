"""Property tests (Hypothesis): search spaces, parameter vectors and populations, on inputs nobody wrote by hand.

Each test states a rule that must hold for *every* input of a kind, and
Hypothesis searches for one that breaks it (then shrinks it to the smallest
such input). The profile is derandomized, so CI sees the same examples on
every run (review section 8 of issue 13).
"""

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evolab
from evolab import strategies
from evolab.search import Categorical, Integer, Real, SearchSpace
from evolab.weights import ParameterLayout

settings.register_profile("evolab", deadline=None, derandomize=True, database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
# EVOLAB_HYPOTHESIS=thorough: fresh random examples, ten times as many (a search for new failures, not for CI).
settings.register_profile("thorough", parent=settings.get_profile("evolab"), derandomize=False, max_examples=1000)
settings.load_profile(os.environ.get("EVOLAB_HYPOTHESIS", "evolab"))

finite = st.floats(allow_nan=False, allow_infinity=False)


# --- search spaces --------------------------------------------------------------------------------------------------
@st.composite
def dimensions(draw):
    kind = draw(st.sampled_from(["real", "log_real", "integer", "log_integer", "categorical"]))
    if kind == "real":
        low = draw(st.floats(-1e12, 1e12))
        width = draw(st.floats(1e-6 * max(1.0, abs(low)), 1e12))
        return Real(low, low + width, bits=draw(st.integers(1, 24)))
    if kind == "log_real":
        low = draw(st.floats(1e-12, 1e6))
        return Real(low, low * draw(st.floats(1.001, 1e9)), log=True)
    if kind == "integer":
        low, step = draw(st.integers(-10**12, 10**12)), draw(st.integers(1, 1000))
        return Integer(low, low + step * draw(st.integers(1, 10**9)) + draw(st.integers(0, step - 1)), step=step)
    if kind == "log_integer":
        low = draw(st.integers(1, 10**6))
        return Integer(low, low + draw(st.integers(1, 10**9)), log=True)
    choices = draw(st.lists(st.one_of(st.text(max_size=5), st.integers(), st.none(), finite), min_size=1,
                            max_size=8, unique_by=repr).filter(
        lambda c: all(a != b for i, a in enumerate(c) for b in c[:i])))
    return Categorical(choices)


spaces = st.dictionaries(st.sampled_from(["a", "b", "lr", "units", "act", "x_1"]), dimensions(), min_size=1,
                         max_size=4).map(SearchSpace)


def assert_valid(space, params):
    assert list(params) == space.names
    for name, dim in space.dimensions.items():
        value = params[name]
        if isinstance(dim, Real):
            assert isinstance(value, float) and dim.low <= value <= dim.high, (name, dim, value)
        elif isinstance(dim, Integer):
            assert isinstance(value, int) and dim.low <= value <= dim.high, (name, dim, value)
            assert (value - dim.low) % dim.step == 0, (name, dim, value)
        else:
            assert any(value is c or value == c for c in dim.choices), (name, dim, value)


@given(spaces, st.integers(0, 2**32 - 1))
def test_every_sampled_point_lies_in_its_space(space, seed):
    assert_valid(space, space.sample(np.random.default_rng(seed)))


@given(spaces, st.data())
def test_any_vector_of_reals_decodes_to_a_valid_point(space, data):
    # GA, PSO, DE and CMA-ES may step anywhere in R^d, far outside the unit cube.
    u = data.draw(st.lists(finite, min_size=len(space), max_size=len(space)))
    assert_valid(space, space.decode(u))


@given(spaces, st.integers(0, 2**32 - 1))
def test_encode_then_decode_gives_the_point_back(space, seed):
    params = space.sample(np.random.default_rng(seed))
    u = space.encode(params)
    assert u.shape == (len(space),) and np.all((u >= 0) & (u <= 1))
    again = space.decode(u)
    for name, dim in space.dimensions.items():
        if isinstance(dim, Real):
            assert again[name] == pytest.approx(params[name], rel=1e-9, abs=1e-9 * (dim.high - dim.low))
        else:
            assert again[name] == params[name] or again[name] is params[name]


@given(spaces, st.integers(0, 2**32 - 1))
def test_bit_strings_round_trip_to_their_resolution(space, seed):
    params = space.sample(np.random.default_rng(seed))
    bits = space.encode_bits(params)
    assert bits.shape == (space.num_bits(),) and set(np.unique(bits)) <= {0, 1}
    again = space.decode_bits(bits)
    assert_valid(space, again)
    for name, dim in space.dimensions.items():
        if isinstance(dim, Real):  # within half a level of the 2**bits - 1 levels, on the dimension's own scale
            gap = abs(dim._to_unit(again[name]) - dim._to_unit(params[name]))
            assert gap <= 0.5 / (2 ** dim.bits - 1) + 1e-9
        else:
            assert again[name] == params[name] or again[name] is params[name]


@given(spaces, st.data())
def test_any_bit_string_decodes_to_a_valid_point(space, data):
    bits = data.draw(st.lists(st.integers(0, 1), min_size=space.num_bits(), max_size=space.num_bits()))
    assert_valid(space, space.decode_bits(bits))


@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), st.one_of(
    st.builds(lambda lo, w, n: Real(lo, lo + w, num=n), st.floats(-1e3, 1e3), st.floats(0.01, 1e3),
              st.integers(1, 6)),
    st.builds(lambda lo, w, n: Integer(lo, lo + w, num=n), st.integers(-50, 50), st.integers(1, 40),
              st.one_of(st.none(), st.integers(1, 6))),
    st.lists(st.integers(0, 9), min_size=1, max_size=4, unique=True).map(Categorical)), min_size=1, max_size=3))
def test_the_grid_is_valid_distinct_and_counted(dimensions):
    space = SearchSpace(dimensions)
    grid = space.grid()
    assert len(grid) == space.grid_size()
    assert len({tuple(sorted(point.items())) for point in grid}) == len(grid)
    for point in grid:
        assert_valid(space, point)


# --- parameter vectors ----------------------------------------------------------------------------------------------
@st.composite
def layer_shapes(draw):
    count = draw(st.integers(1, 4))
    return [tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))) for _ in range(count)]


@given(layer_shapes(), st.integers(0, 2**32 - 1))
def test_flatten_and_unflatten_are_inverse(shapes, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=shape).astype(np.float32) for shape in shapes]
    sizes = tuple(a.size for a in arrays)
    layout = ParameterLayout(names=tuple(f"v{i}" for i in range(len(arrays))), shapes=tuple(shapes), sizes=sizes,
                             offsets=tuple(int(o) for o in np.cumsum((0,) + sizes[:-1])),
                             dtypes=("float32",) * len(arrays))
    vector = layout.flatten(arrays)
    assert vector.shape == (sum(a.size for a in arrays),) and vector.dtype == np.float32
    for a, b in zip(layout.unflatten(vector), arrays):
        np.testing.assert_array_equal(a, b)
    population = rng.normal(size=(3, layout.num_params)).astype(np.float32)
    batched = layout.unflatten_batch(population)
    for member in range(3):
        for a, b in zip(batched, layout.unflatten(population[member])):
            np.testing.assert_array_equal(a[member], b)


@settings(max_examples=15)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=3), st.integers(2, 5), st.integers(0, 2**32 - 1))
def test_set_parameters_then_get_parameters_gives_the_vector(hidden, inputs, seed):
    model = evolab.models.mlp((inputs,), hidden_units=tuple(hidden), num_classes=3)
    vector = np.random.default_rng(seed).normal(size=evolab.count_parameters(model)).astype(np.float32)
    evolab.set_parameters(model, vector)
    np.testing.assert_array_equal(evolab.get_parameters(model), vector)


@settings(max_examples=25)
@given(st.integers(0, 200), st.sampled_from([np.nan, np.inf, -np.inf, 1e39]))
def test_a_wrong_length_or_a_value_float32_cannot_hold_is_refused_and_nothing_assigned(delta, bad):
    model = evolab.models.mlp((3,), hidden_units=(4,), num_classes=2)
    before = evolab.get_parameters(model)
    size = before.size
    wrong = np.zeros(size + delta + 1 if delta % 2 else max(0, size - delta - 1), dtype=np.float64)
    with pytest.raises(ValueError, match=f"{size}"):
        evolab.set_parameters(model, wrong)
    poisoned = np.zeros(size)
    poisoned[delta % size] = bad
    with pytest.raises(ValueError):
        evolab.set_parameters(model, poisoned)
    np.testing.assert_array_equal(evolab.get_parameters(model), before)


# --- populations and strategies -------------------------------------------------------------------------------------
@given(st.lists(finite, min_size=1, max_size=64), st.floats(0.01, 100), st.floats(-1e3, 1e3))
def test_centered_ranks_depend_only_on_the_order(values, scale, shift):
    fitness = np.array(values)
    ranks = strategies.centered_ranks(fitness)
    assert ranks.shape == fitness.shape and np.all((ranks >= -0.5) & (ranks <= 0.5))
    assert abs(float(np.sum(ranks))) < 1e-4 * len(values)
    if len(values) > 1 and np.unique(fitness).size == fitness.size:
        assert ranks[np.argmax(fitness)] == pytest.approx(0.5) and ranks[np.argmin(fitness)] == pytest.approx(-0.5)
    with np.errstate(over="ignore"):  # a score near the float64 limit may overflow: the check below skips it
        moved = scale * fitness + shift
    if np.array_equal(np.argsort(moved, kind="stable"), np.argsort(fitness, kind="stable")) and \
            np.unique(moved).size == np.unique(fitness).size:
        np.testing.assert_array_equal(strategies.centered_ranks(moved), ranks)
    order = np.random.default_rng(len(values)).permutation(len(values))
    np.testing.assert_array_equal(strategies.centered_ranks(fitness[order]), ranks[order])


NAMES = sorted(strategies.STRATEGIES)


@settings(max_examples=30)
@given(st.sampled_from(NAMES), st.integers(1, 40), st.integers(1, 12).map(lambda k: 2 * k),
       st.integers(0, 2**31 - 1), st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=1))
def test_every_strategy_asks_finite_float32_populations_of_its_size(name, num_params, population_size, seed, centre):
    strategy = strategies.get_strategy(name, num_params, population_size, seed=seed,
                                       center=np.full(num_params, centre[0]))
    rng = np.random.default_rng(seed)
    for _ in range(3):
        population = np.asarray(strategy.ask())
        assert population.shape == (population_size, num_params) and population.dtype == np.float32
        assert np.all(np.isfinite(population))
        strategy.tell(rng.normal(size=population_size) * 10.0 ** rng.integers(-6, 7))
        assert np.all(np.isfinite(strategy.center))


@settings(max_examples=30)
@given(st.sampled_from(NAMES), st.integers(1, 20), st.integers(2, 8).map(lambda k: 2 * k), st.integers(0, 2**31 - 1),
       st.floats(0.01, 1000), st.floats(-1e4, 1e4))
def test_a_strategy_hears_only_the_order_of_the_scores(name, num_params, population_size, seed, scale, shift):
    """Every strategy here shapes fitness by rank (or selects by it), so a rescaled score changes nothing."""
    def run(transform):
        strategy = strategies.get_strategy(name, num_params, population_size, seed=seed)
        order = np.random.default_rng(seed)
        for _ in range(3):
            strategy.ask()
            strategy.tell(transform(order.permutation(population_size).astype(np.float64)))
        return np.asarray(strategy.ask()), strategy.center

    population, center = run(lambda f: f)
    moved_population, moved_center = run(lambda f: scale * f ** 3 + shift)
    np.testing.assert_array_equal(moved_population, population)
    np.testing.assert_array_equal(moved_center, center)


@settings(max_examples=20)
@given(st.sampled_from(NAMES), st.integers(1, 20), st.integers(1, 6).map(lambda k: 2 * k), st.integers(0, 2**31 - 1),
       st.integers(0, 3))
def test_a_strategy_restored_from_its_state_asks_what_the_original_asks(name, num_params, population_size, seed,
                                                                         generations):
    original = strategies.get_strategy(name, num_params, population_size, seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(generations):
        original.ask()
        original.tell(rng.normal(size=population_size))
    copy = strategies.get_strategy(name, num_params, population_size, seed=seed + 1)
    copy.load_state_dict(original.state_dict())
    for _ in range(2):
        np.testing.assert_array_equal(np.asarray(copy.ask()), np.asarray(original.ask()))
        scores = rng.normal(size=population_size)
        original.tell(scores)
        copy.tell(scores)
    np.testing.assert_array_equal(copy.center, original.center)


@settings(max_examples=12)
@given(st.integers(1, 9), st.integers(1, 5), st.integers(2, 30), st.integers(0, 2**31 - 1),
       st.sampled_from(["accuracy", "neg_loss"]))
def test_a_population_scores_as_its_members_do_one_at_a_time(population_size, hidden, examples, seed, metric):
    rng = np.random.default_rng(seed)
    model = evolab.models.mlp((4,), hidden_units=(hidden,), num_classes=3)
    x = rng.normal(size=(examples, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=examples)
    population = rng.normal(scale=0.5, size=(population_size, evolab.count_parameters(model))).astype(np.float32)
    together = evolab.PopulationEvaluator(model, x, y, metric=metric)(population)
    one_by_one = evolab.keras_fitness(model, x, y, metric)
    assert together.shape == (population_size,)
    expected = [one_by_one(member)[0] for member in population]
    if metric == "accuracy":
        assert all(math.isclose(a * examples, round(a * examples), abs_tol=1e-3) for a in together)
    np.testing.assert_allclose(together, expected, rtol=1e-4, atol=1e-5)
