"""Tests for evolab.strategies: ask/tell evolution strategies over population arrays."""

import os
import pickle

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from deap import benchmarks

from evolab import strategies
from evolab.strategies import (
    PGPE,
    SGD,
    Adam,
    ClipUp,
    SNES,
    STRATEGIES,
    OpenAIES,
    SimpleGA,
    centered_ranks,
    decay,
    get_optimizer,
    get_strategy,
    snes_utilities,
)

NAMES = ["ga", "openai_es", "pgpe", "snes", "lowrank_es"]


def negated(benchmark):
    """A DEAP benchmark (minimise, returns a 1-tuple) as a population scorer (maximise)."""

    def score(population):
        return np.array([-benchmark(row)[0] for row in population])

    return score


def run(strategy, score, num_generations):
    for _ in range(num_generations):
        population = np.asarray(strategy.ask())  # a low-rank population materializes its members here
        strategy.tell(score(population))
    return strategy


# ---------------------------------------------------------------------------
# Convergence on deap.benchmarks (the budget and the bar are stated per strategy)
# ---------------------------------------------------------------------------

# sphere in 20 dimensions, every coordinate starting at 3.0: sphere(start) = 180.
# "Converges" means: after 300 generations of 40 candidates (12,000 evaluations)
# sphere(strategy.center) is below the tolerance, a reduction of more than
# 1,000x. A strategy that does not learn stays at 180; one that climbs the
# wrong way or walks at random ends above it.
SPHERE_SETTINGS = {
    "ga": (dict(mutation_sigma=0.1, mutation_rate=0.2, initial_spread=1.0), 0.05),  # measured ~0.01
    "openai_es": (dict(sigma=0.1, learning_rate=0.1), 0.15),  # measured 0.016-0.036
    "pgpe": (dict(sigma=0.5, learning_rate=0.1), 1e-3),  # measured 1e-5-1e-4
    "snes": (dict(sigma=1.0), 1e-8),  # measured ~1e-11
    "lowrank_es": (dict(sigma=0.1, learning_rate=0.1, layer_shapes=[(4, 5)]), 0.15),  # a 4 x 5 matrix, rank 1
}


@pytest.mark.parametrize("name", NAMES)
def test_converges_on_sphere(name):
    hyperparameters, tolerance = SPHERE_SETTINGS[name]
    start = np.full(20, 3.0)
    strategy = get_strategy(name, 20, 40, center=start, seed=0, **hyperparameters)
    assert benchmarks.sphere(strategy.center)[0] == pytest.approx(180.0)
    run(strategy, negated(benchmarks.sphere), 300)
    assert benchmarks.sphere(strategy.center)[0] < tolerance
    assert strategy.generation == 300


# rastrigin in 10 dimensions, every coordinate starting at 3.5 (a poor local
# minimum region): rastrigin(start) = 322.5; the global minimum is 0 at the
# origin, with a local minimum near every integer point. After 300
# generations of 50 candidates the center must be below the stated value,
# far below the start (a non-learning strategy stays at 322.5).
RASTRIGIN_SETTINGS = {
    "ga": (dict(mutation_sigma=0.3, mutation_rate=0.2, initial_spread=1.0), 60.0),  # measured 13-31
    "openai_es": (dict(sigma=0.5, learning_rate=0.1, sigma_schedule=decay(0.99, floor=0.05)), 60.0),  # 14-28
    "pgpe": (dict(sigma=2.0, learning_rate=0.1), 130.0),  # measured 34-76
    "snes": (dict(sigma=2.0), 10.0),  # measured 1-3
    "lowrank_es": (dict(sigma=0.5, learning_rate=0.1, sigma_schedule=decay(0.99, floor=0.05)), 60.0),
}


@pytest.mark.parametrize("name", NAMES)
def test_improves_on_rastrigin(name):
    hyperparameters, bar = RASTRIGIN_SETTINGS[name]
    strategy = get_strategy(name, 10, 50, center=np.full(10, 3.5), seed=0, **hyperparameters)
    start = benchmarks.rastrigin(strategy.center)[0]
    assert start == pytest.approx(322.5)
    run(strategy, negated(benchmarks.rastrigin), 300)
    assert benchmarks.rastrigin(strategy.center)[0] < bar


@pytest.mark.parametrize(
    "options",
    [
        dict(crossover="blend"),
        dict(crossover=None),
        dict(selection="truncation", truncation_fraction=0.25),
        dict(mutation_rate=1.0, mutation_sigma=0.05),
    ],
)
def test_ga_variants_converge_on_sphere(options):
    settings = dict(mutation_sigma=0.1, mutation_rate=0.2, initial_spread=1.0)
    settings.update(options)
    strategy = SimpleGA(10, 40, center=np.full(10, 3.0), seed=1, **settings)
    run(strategy, negated(benchmarks.sphere), 200)
    assert benchmarks.sphere(strategy.center)[0] < 0.2  # from 90


def test_pgpe_with_clipup_converges_on_sphere():
    strategy = PGPE(20, 40, center=np.full(20, 3.0), seed=0, sigma=0.5, learning_rate=0.1, optimizer="clipup")
    run(strategy, negated(benchmarks.sphere), 300)
    assert benchmarks.sphere(strategy.center)[0] < 0.5  # from 180; measured 0.06-0.2


# ---------------------------------------------------------------------------
# OpenAI-ES's gradient estimate
# ---------------------------------------------------------------------------


def test_openai_es_gradient_estimate_matches_true_gradient():
    # f(x) = -sum((x - a)^2) has gradient -2 (x - a) = 2 a at x = 0.
    rng = np.random.default_rng(3)
    a = rng.normal(size=20)
    true_gradient = 2 * a
    es = OpenAIES(20, 2000, sigma=0.05, fitness_shaping="raw", seed=0)
    population = es.ask()
    estimate = es.gradient_estimate(-np.sum((population - a) ** 2, axis=1))
    cosine = estimate @ true_gradient / (np.linalg.norm(estimate) * np.linalg.norm(true_gradient))
    assert cosine > 0.9
    # with raw scores the estimate also has the right scale
    assert np.linalg.norm(estimate) == pytest.approx(np.linalg.norm(true_gradient), rel=0.1)
    # and it does not change the strategy: tell() still works on the same population
    es.tell(-np.sum((population - a) ** 2, axis=1))
    assert es.generation == 1


def test_openai_es_gradient_estimate_with_few_samples_is_poor():
    # the check above is not trivially satisfied: with 4 samples in 20-D it fails
    a = np.random.default_rng(3).normal(size=20)
    es = OpenAIES(20, 4, sigma=0.05, fitness_shaping="raw", seed=0)
    population = es.ask()
    estimate = es.gradient_estimate(-np.sum((population - a) ** 2, axis=1))
    cosine = estimate @ a / (np.linalg.norm(estimate) * np.linalg.norm(a))
    assert cosine < 0.9


def test_openai_es_samples_mirrored_pairs():
    es = OpenAIES(7, 10, center=np.arange(7.0), seed=0)
    population = es.ask()
    np.testing.assert_allclose(population[:5] + population[5:], np.tile(2 * np.arange(7.0), (5, 1)), atol=1e-5)


def test_openai_es_weight_decay_and_sigma_schedule():
    es = OpenAIES(5, 4, center=np.ones(5), seed=0, learning_rate=0.1, weight_decay=0.5, sigma=0.1,
                  sigma_schedule=decay(0.5, floor=0.03))
    es.ask()
    es.tell(np.zeros(4))  # all scores tie: no gradient, only the decay acts
    np.testing.assert_allclose(es.center, np.full(5, 0.95), rtol=1e-6)
    assert es.current_sigma == pytest.approx(0.05)
    population = es.ask()
    np.testing.assert_allclose(np.abs(population - es.center).max() / np.abs(es._noise).max(), 0.05, rtol=1e-5)
    es.tell(np.zeros(4))
    assert es.current_sigma == pytest.approx(0.03)  # floored
    assert es.sigma == 0.1 and es.hyperparameters["sigma"] == 0.1  # the hyperparameter is never overwritten


def test_pgpe_sigma_changes_at_most_max_change():
    pgpe = PGPE(30, 20, seed=0, sigma=0.1, sigma_learning_rate=10.0, sigma_max_change=0.2)
    population = pgpe.ask()
    pgpe.tell(-np.sum(population**2, axis=1))
    ratio = pgpe.current_sigma / 0.1
    assert np.all(ratio >= 0.8 - 1e-6) and np.all(ratio <= 1.2 + 1e-6)
    assert not np.allclose(ratio, 1.0)


def test_snes_utilities_sum_to_zero_and_favour_the_best():
    utilities = snes_utilities(10)
    assert utilities.sum() == pytest.approx(0.0, abs=1e-6)
    assert np.all(np.diff(utilities) <= 0) and utilities[0] > 0 > utilities[-1]


def test_snes_shrinks_sigma_near_the_optimum():
    snes = SNES(5, 12, seed=0, sigma=1.0)
    run(snes, negated(benchmarks.sphere), 100)
    assert np.all(snes.current_sigma < 0.1) and snes.sigma == 1.0


# ---------------------------------------------------------------------------
# Protocol: shapes, dtypes, determinism, state round trip
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_dtypes_at_network_scale(name):
    # the 784-128-10 MLP of the MNIST lessons has 101,770 weights
    center = np.random.default_rng(0).normal(scale=0.05, size=101_770).astype(np.float32)
    strategy = get_strategy(name, 101_770, 8, center=center, seed=0)
    population = np.asarray(strategy.ask())
    assert population.shape == (8, 101_770) and population.dtype == np.float32
    assert np.all(np.isfinite(population))
    strategy.tell(np.arange(8.0))
    assert strategy.generation == 1
    assert strategy.center.shape == (101_770,) and strategy.center.dtype == np.float32
    assert np.asarray(strategy.ask()).dtype == np.float32


@pytest.mark.parametrize("name", NAMES)
def test_ask_twice_returns_the_same_population_and_copies(name):
    strategy = get_strategy(name, 6, 8, seed=0)
    first = np.asarray(strategy.ask())
    first[:] = 123.0  # the caller owns the returned array
    second = np.asarray(strategy.ask())
    assert not np.any(second == 123.0)
    np.testing.assert_array_equal(second, np.asarray(strategy.ask()))
    strategy.tell(np.arange(8.0))
    assert strategy.generation == 1  # the second ask() did not start a new generation


@pytest.mark.parametrize("name", NAMES)
def test_tell_without_ask_raises(name):
    strategy = get_strategy(name, 6, 8, seed=0)
    with pytest.raises(RuntimeError, match="ask"):
        strategy.tell(np.zeros(8))
    strategy.ask()
    strategy.tell(np.zeros(8))
    with pytest.raises(RuntimeError, match="ask"):
        strategy.tell(np.zeros(8))


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_populations(name):
    def trajectory(seed):
        strategy = get_strategy(name, 12, 10, center=np.ones(12), seed=seed)
        populations = []
        for _ in range(4):
            population = np.asarray(strategy.ask())
            populations.append(population)
            strategy.tell(-np.sum(population**2, axis=1))
        return populations, strategy.center

    first, first_center = trajectory(7)
    second, second_center = trajectory(7)
    other, _ = trajectory(8)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first_center, second_center)
    assert not np.array_equal(first[1], other[1])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("pending", [False, True], ids=["after_tell", "between_ask_and_tell"])
def test_state_dict_round_trip_continues_identically(name, pending):
    def score(population):
        return -np.sum((population - 0.5) ** 2, axis=1)

    original = get_strategy(name, 15, 12, center=np.zeros(15), seed=3)
    run(original, score, 3)
    if pending:
        original.ask()
    state = pickle.loads(pickle.dumps(original.state_dict()))

    restored = get_strategy(name, 15, 12, seed=12345)  # different seed: the state decides
    restored.load_state_dict(state)
    assert restored.generation == original.generation == 3
    np.testing.assert_array_equal(restored.center, original.center)
    for _ in range(3):
        a, b = np.asarray(original.ask()), np.asarray(restored.ask())
        np.testing.assert_array_equal(a, b)
        original.tell(score(a))
        restored.tell(score(b))
    np.testing.assert_array_equal(restored.center, original.center)


def test_state_dict_is_a_snapshot():
    es = OpenAIES(4, 4, seed=0)
    state = es.state_dict()
    run(es, negated(benchmarks.sphere), 2)
    np.testing.assert_array_equal(state["mean"], np.zeros(4))
    assert state["generation"] == 0


def test_load_state_dict_rejects_another_strategy():
    state = OpenAIES(4, 4, seed=0).state_dict()
    with pytest.raises(ValueError, match="openai_es"):
        PGPE(4, 4, seed=0).load_state_dict(state)
    with pytest.raises(ValueError, match="num_params"):
        OpenAIES(5, 4, seed=0).load_state_dict(state)


# ---------------------------------------------------------------------------
# Fitness handling: NaN, ranks
# ---------------------------------------------------------------------------


def test_centered_ranks():
    np.testing.assert_allclose(centered_ranks([10.0, -3.0, 250.0]), [0.0, -0.5, 0.5])
    np.testing.assert_allclose(centered_ranks([1.0, 1.0, 2.0]), [-0.25, -0.25, 0.5])  # ties share
    np.testing.assert_allclose(centered_ranks([np.nan, 0.0, -1e9]), [-0.5, 0.5, 0.0])  # NaN is worst
    np.testing.assert_allclose(centered_ranks([np.nan, 1.0, np.nan]), [-0.25, 0.5, -0.25])
    np.testing.assert_array_equal(centered_ranks([5.0]), [0.0])
    assert centered_ranks(np.arange(7.0)).dtype == np.float32
    with pytest.raises(ValueError, match="1-D"):
        centered_ranks(np.zeros((2, 2)))


@pytest.mark.parametrize("name", NAMES)
def test_nan_fitness_counts_as_worst(name):
    def after_one_step(worst_value):
        strategy = get_strategy(name, 8, 10, center=np.ones(8), seed=0)
        population = np.asarray(strategy.ask())
        fitness = -np.sum(population**2, axis=1)
        fitness[[2, 7]] = worst_value
        strategy.tell(fitness)
        return strategy.center, np.asarray(strategy.ask())

    center_nan, next_nan = after_one_step(np.nan)
    center_low, next_low = after_one_step(-1e30)
    np.testing.assert_array_equal(center_nan, center_low)
    np.testing.assert_array_equal(next_nan, next_low)
    assert np.all(np.isfinite(center_nan)) and np.all(np.isfinite(next_nan))


@pytest.mark.parametrize("name", NAMES)
def test_all_nan_fitness_moves_no_strategy(name):
    strategy = get_strategy(name, 8, 10, center=np.ones(8), seed=0)
    before = strategy.center
    for _ in range(3):
        strategy.ask()
        strategy.tell(np.full(10, np.nan))
    np.testing.assert_array_equal(strategy.center, before)  # SNES once random-walked here (review S6)
    assert strategy.generation == 3 and np.all(np.isfinite(np.asarray(strategy.ask())))


@pytest.mark.parametrize("shaping", ["raw", "normalized"])
def test_openai_es_raw_scores_with_nan_and_inf(shaping):
    es = OpenAIES(6, 8, seed=0, fitness_shaping=shaping)
    population = es.ask()
    fitness = -np.sum(population**2, axis=1)
    fitness[0], fitness[1] = np.nan, -np.inf
    es.tell(fitness)
    assert np.all(np.isfinite(es.center))


# ---------------------------------------------------------------------------
# Genetic algorithm specifics
# ---------------------------------------------------------------------------


def test_ga_first_population_keeps_the_center():
    center = np.linspace(-1, 1, 9)
    population = SimpleGA(9, 6, center=center, seed=0, initial_spread=0.5).ask()
    np.testing.assert_array_equal(population[0], center.astype(np.float32))
    assert not np.any(np.all(population[1:] == population[0], axis=1))


def test_ga_elitism_keeps_the_best_individual():
    score = negated(benchmarks.sphere)
    ga = SimpleGA(10, 20, center=np.full(10, 2.0), seed=0, num_elites=2, mutation_sigma=0.5, initial_spread=1.0)
    best_so_far = -np.inf
    for generation in range(30):
        population = ga.ask()
        fitness = score(population)
        if generation > 0:
            # the two elites are the first rows, unchanged, so the best never gets worse
            assert fitness[:2].max() == best_so_far
        order = np.argsort(-fitness, kind="stable")
        ga.tell(fitness)
        best_so_far = max(best_so_far, fitness.max())
        np.testing.assert_array_equal(ga.ask()[:2], population[order[:2]])
        np.testing.assert_array_equal(ga.center, population[order[0]])
        assert ga.best_fitness == best_so_far
    assert best_so_far > -5.0  # from -40: the GA also made progress


def test_ga_without_elitism_may_lose_the_best():
    # the contrast that makes the elitism test meaningful
    score = negated(benchmarks.sphere)
    ga = SimpleGA(10, 20, center=np.full(10, 2.0), seed=0, num_elites=0, mutation_rate=1.0, mutation_sigma=0.5, initial_spread=1.0)
    population = ga.ask()
    best = population[np.argmax(score(population))]
    ga.tell(score(population))
    assert not np.any(np.all(ga.ask() == best, axis=1))


def test_ga_blend_crossover_stays_in_the_widened_range():
    # parents are rows of 0s or of 1s; BLX-0.5 children lie in [-0.5, 1.5] (before mutation)
    ga = SimpleGA(
        100, 20, seed=0, selection="truncation", truncation_fraction=0.5,
        crossover="blend", crossover_rate=1.0, blend_alpha=0.5, mutation_rate=0.0,
    )
    ga.ask()
    ga.population = np.tile(np.array([[0.0], [1.0]], dtype=np.float32), (10, 100))  # rows 0, 1, 0, 1, ...
    ga.tell(np.zeros(20))
    children = ga.ask()[1:]
    assert children.min() >= -0.5 - 1e-6 and children.max() <= 1.5 + 1e-6
    assert children.min() < -0.4 and children.max() > 1.4  # really widened, not just copied


# ---------------------------------------------------------------------------
# Registry and input validation
# ---------------------------------------------------------------------------


def test_registry():
    assert set(STRATEGIES) == set(NAMES)
    for name, cls in STRATEGIES.items():
        assert cls.name == name
        assert isinstance(get_strategy(name, 4, 6, seed=0), cls)
    assert isinstance(get_strategy(PGPE, 4, 6, seed=0, sigma=0.2), PGPE)
    assert get_strategy("PGPE", 4, 6, seed=0, sigma=0.2).sigma == 0.2
    existing = SNES(4, 6, seed=0)
    assert get_strategy(existing, 4, 6) is existing
    assert "population_size=6" in repr(existing)


def test_registry_errors():
    with pytest.raises(ValueError, match="ga.*openai_es.*pgpe.*snes"):
        get_strategy("cmaes", 4, 6)
    with pytest.raises(ValueError, match="learning_rat"):
        get_strategy("pgpe", 4, 6, learning_rat=0.1)
    with pytest.raises(ValueError, match="population_size=8"):
        get_strategy(SNES(4, 6), 4, 8)
    with pytest.raises(ValueError, match="sigma"):
        get_strategy(SNES(4, 6), 4, 6, sigma=0.3)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: OpenAIES(0, 4), "num_params"),
        (lambda: OpenAIES(2.5, 4), "num_params"),
        (lambda: SNES(4, 0), "population_size"),
        (lambda: OpenAIES(4, 5), "even"),
        (lambda: PGPE(4, 7), "even"),
        (lambda: SimpleGA(4, 1), "population_size"),
        (lambda: SNES(4, 6, center=np.zeros(5)), r"shape \(4,\)"),
        (lambda: SNES(4, 6, center=np.zeros((2, 2))), "center"),
        (lambda: SNES(2, 6, center=[0.0, np.nan]), "finite"),
        (lambda: SimpleGA(4, 6, selection="roulette"), "tournament"),
        (lambda: SimpleGA(4, 6, crossover="two_point"), "blend"),
        (lambda: SimpleGA(4, 6, num_elites=6), "num_elites"),
        (lambda: SimpleGA(4, 6, mutation_rate=1.5), "mutation_rate"),
        (lambda: SimpleGA(4, 6, tournament_size=0), "tournament_size"),
        (lambda: OpenAIES(4, 6, sigma=-0.1), "sigma"),
        (lambda: OpenAIES(4, 6, fitness_shaping="ranks"), "centered_ranks"),
        (lambda: PGPE(4, 6, optimizer="rmsprop"), "clipup"),
        (lambda: SNES(4, 6, sigma=0.0), "sigma"),
        (lambda: PGPE(4, 6, learning_rate=-1.0), "learning_rate"),
        (lambda: OpenAIES(4, 6, sigma_schedule=0.99), "sigma_schedule"),
        (lambda: OpenAIES(4, 6, optimizer=Adam(beta1=1.0)), "beta1"),
        (lambda: SimpleGA(4, 6, initial_spread=-1.0), "initial_spread"),
        (lambda: OpenAIES(4, 6, sigma="0.1"), "sigma"),
    ],
)
def test_bad_arguments_raise_value_error(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("name", NAMES)
def test_wrong_fitness_shape_raises(name):
    strategy = get_strategy(name, 4, 6, seed=0)
    strategy.ask()
    with pytest.raises(ValueError, match=r"\(6,\).*\(5,\)"):
        strategy.tell(np.zeros(5))
    with pytest.raises(ValueError, match=r"\(6, 1\)"):
        strategy.tell(np.zeros((6, 1)))
    strategy.tell(np.zeros(6))  # still usable afterwards


def test_module_docstring_teaches_ask_tell():
    assert "ask()" in strategies.__doc__ and "tell(fitness)" in strategies.__doc__
    assert "10_neuroevolution_at_scale.ipynb" in strategies.__doc__


def test_openai_es_learning_rate_schedule_and_its_checkpoint():
    es = OpenAIES(4, 8, seed=0, learning_rate=0.1, learning_rate_schedule=decay(0.5, floor=0.02))
    for _ in range(2):
        population = es.ask()
        es.tell(-np.sum(population**2, axis=1))
    assert es.current_learning_rate == pytest.approx(0.025)  # 0.1 halved twice
    es.ask()
    es.tell(np.zeros(8))
    assert es.current_learning_rate == pytest.approx(0.02) and es.learning_rate == 0.1
    state = pickle.loads(pickle.dumps(es.state_dict()))
    restored = OpenAIES(4, 8, seed=1, learning_rate=0.1, learning_rate_schedule=decay(0.5, floor=0.02))
    restored.load_state_dict(state)
    assert restored.current_learning_rate == pytest.approx(0.02)
    np.testing.assert_array_equal(restored.ask(), es.ask())
    with pytest.raises(ValueError, match="decay rate"):
        decay(0)
    bad = OpenAIES(4, 8, seed=0, learning_rate_schedule=lambda initial, generation: initial - generation)
    bad.ask()
    bad.tell(np.arange(8.0))  # the schedule gives 0.02 at generation 0: fine
    bad.ask()
    with pytest.raises(ValueError, match=r"learning_rate_schedule\(0.02, 1\) to return a finite number > 0, received -0.98"):
        bad.tell(np.arange(8.0))


def test_decay_schedule():
    schedule = decay(0.5, floor=0.03)
    assert [schedule(0.1, generation) for generation in range(4)] == pytest.approx([0.1, 0.05, 0.03, 0.03])
    assert schedule == decay(0.5, floor=0.03) and schedule != decay(0.5)
    assert repr(schedule) == "decay(0.5, floor=0.03)"


# ---------------------------------------------------------------------------
# One vocabulary: sigma and learning_rate for every evolution strategy
# ---------------------------------------------------------------------------

GAUSSIAN = [name for name in STRATEGIES if name != "ga"]  # every evolution strategy


def test_the_evolution_strategies_of_the_registry():
    assert set(GAUSSIAN) == {"openai_es", "pgpe", "snes", "lowrank_es"}


@pytest.mark.parametrize("name", GAUSSIAN)
def test_every_evolution_strategy_takes_sigma_and_learning_rate(name):
    strategy = get_strategy(name, 2000, 8, center=np.full(2000, 1.0), seed=0, sigma=0.2, learning_rate=0.05)
    assert strategy.sigma == 0.2 and strategy.learning_rate == 0.05
    assert {"sigma", "learning_rate"} <= set(strategy.hyperparameters)
    # sigma is what the first population's spread really is
    spread = (np.asarray(strategy.ask()) - strategy.center).std()
    assert spread == pytest.approx(0.2, rel=0.02)
    np.testing.assert_allclose(strategy.current_sigma, 0.2)
    # and learning_rate scales the first step of the center
    def first_step(learning_rate):
        es = get_strategy(name, 50, 8, seed=0, sigma=0.2, learning_rate=learning_rate)
        population = np.asarray(es.ask())
        es.tell(-np.sum((population - 3.0) ** 2, axis=1))
        return np.linalg.norm(es.center)

    assert first_step(0.1) == pytest.approx(2 * first_step(0.05), rel=1e-4)


@pytest.mark.parametrize(
    "name, old, new",
    [
        ("pgpe", "init_sigma", "sigma"),
        ("pgpe", "center_learning_rate", "learning_rate"),
        ("pgpe", "max_speed", "ClipUp"),
        ("snes", "init_sigma", "sigma"),
        ("openai_es", "sigma_decay", "sigma_schedule"),
        ("openai_es", "learning_rate_limit", "learning_rate_schedule"),
        ("openai_es", "beta1", "Adam"),
        ("ga", "init_sigma", "initial_spread"),
        ("ga", "sigma", "mutation_sigma"),
    ],
)
def test_old_names_say_which_name_replaced_them(name, old, new):
    with pytest.raises(ValueError, match=rf"{old} -> .*{new}"):
        get_strategy(name, 4, 6, **{old: 0.1})
    with pytest.raises(ValueError, match=rf"{old} -> .*{new}"):
        STRATEGIES[name](4, 6, **{old: 0.1})


@pytest.mark.parametrize("name", NAMES)
def test_every_strategy_tracks_its_best_solution(name):
    strategy = get_strategy(name, 6, 8, center=np.ones(6), seed=0)
    assert strategy.best_fitness == -np.inf
    np.testing.assert_array_equal(strategy.best_solution, np.ones(6))
    best_told = -np.inf
    for _ in range(5):
        population = np.asarray(strategy.ask())
        fitness = -np.sum(population**2, axis=1)
        fitness[3] = np.nan  # never the best
        if np.nanmax(fitness) > best_told:
            best_told, best_row = np.nanmax(fitness), population[np.nanargmax(fitness)].copy()
        strategy.tell(fitness)
    assert strategy.best_fitness == best_told
    np.testing.assert_array_equal(strategy.best_solution, best_row)
    restored = get_strategy(name, 6, 8, seed=1)
    restored.load_state_dict(pickle.loads(pickle.dumps(strategy.state_dict())))
    assert restored.best_fitness == best_told
    np.testing.assert_array_equal(restored.best_solution, best_row)


@pytest.mark.parametrize(
    "name, saved, here, differs",
    [
        ("pgpe", dict(sigma=0.1), dict(sigma=0.2), "sigma"),
        ("openai_es", dict(optimizer="adam"), dict(optimizer="sgd"), "optimizer"),
        ("openai_es", dict(sigma_schedule=decay(0.9)), dict(), "sigma_schedule"),
        ("ga", dict(mutation_rate=0.2), dict(), "mutation_rate"),
    ],
)
def test_load_state_dict_never_replaces_hyperparameters(name, saved, here, differs):
    original = get_strategy(name, 5, 6, seed=0, **saved)
    run(original, negated(benchmarks.sphere), 2)
    other = get_strategy(name, 5, 6, seed=0, **here)
    before = other.hyperparameters
    with pytest.raises(ValueError, match=rf"other hyperparameters \({differs}: saved"):
        other.load_state_dict(original.state_dict())
    assert other.hyperparameters == before and other.generation == 0


# ---------------------------------------------------------------------------
# Optimizers: their own options and state
# ---------------------------------------------------------------------------


def test_adam_first_step_has_the_learning_rate_per_parameter():
    adam = Adam()
    step = adam.step(np.array([3.0, -0.001, 0.0], dtype=np.float32), 0.1)
    np.testing.assert_allclose(step, [0.1, -0.1, 0.0], atol=1e-4)
    assert adam.steps == 1 and adam.options == {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}


def test_sgd_momentum_accumulates_and_clipup_caps_the_speed():
    sgd = SGD(momentum=0.5)
    gradient = np.ones(3, dtype=np.float32)
    np.testing.assert_allclose(sgd.step(gradient, 0.1), 0.1)
    np.testing.assert_allclose(sgd.step(gradient, 0.1), 0.15)  # 0.1 * (1 + 0.5)
    np.testing.assert_allclose(SGD().step(gradient * 4, 0.1), 0.4)
    clipup = ClipUp(momentum=0.9, max_speed=0.15)
    for _ in range(20):
        step = clipup.step(gradient * 1000, 0.1)
    assert np.linalg.norm(step) == pytest.approx(0.15, rel=1e-5)  # capped, whatever the gradient's scale


def test_get_optimizer_gives_a_fresh_copy_and_state_round_trips():
    adam = Adam(beta1=0.8)
    adam.step(np.ones(4, dtype=np.float32), 0.1)
    fresh = get_optimizer(adam)
    assert fresh is not adam and fresh == adam and fresh.steps == 0 and fresh.moment1 is None
    assert get_optimizer("ClipUp") == ClipUp()
    with pytest.raises(ValueError, match="sgd.*adam.*clipup"):
        get_optimizer("rmsprop")
    copy = Adam(beta1=0.8)
    copy.load_state_dict(pickle.loads(pickle.dumps(adam.state_dict())))
    gradient = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(copy.step(gradient, 0.1), adam.step(gradient, 0.1))


def test_one_algorithm_per_file_and_no_file_much_above_300_lines():
    from pathlib import Path

    folder = Path(strategies.__file__).parent
    for cls in STRATEGIES.values():
        assert Path(__import__(cls.__module__, fromlist=["_"]).__file__).parent == folder
    assert len({cls.__module__ for cls in STRATEGIES.values()}) == len(STRATEGIES)
    for path in folder.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 320, path.name
