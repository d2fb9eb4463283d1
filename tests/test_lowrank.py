"""The low-rank evolution strategy and its evaluation: members never materialized, the same scores as if they were."""

import os
import pickle

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

import evolab
from evolab.strategies import LowRankES, LowRankPopulation, decay


@pytest.fixture(scope="module")
def digits():
    return evolab.data.load_digits()


def build(hidden_units=(16, 12), input_shape=(64,), seed=0):
    evolab.set_seed(seed)
    return evolab.models.mlp(input_shape, hidden_units=hidden_units)


def strategy_for(model, population_size=10, **options):
    layout = evolab.ParameterLayout.from_model(model)
    return LowRankES(layout.num_params, population_size, center=evolab.get_parameters(model),
                     layer_shapes=layout.shapes, seed=0, **options)


def test_members_are_center_plus_low_rank_matrices_in_mirrored_pairs():
    es = LowRankES(4 * 5 + 5, 6, center=np.ones(25), layer_shapes=[(4, 5), (5,)], rank=2, sigma=0.1, seed=0)
    population = es.ask()
    assert isinstance(population, LowRankPopulation) and population.shape == (6, 25)
    members = np.asarray(population)
    np.testing.assert_allclose(members[:3] + members[3:], 2.0, atol=1e-6)  # mirrored
    for i in range(3):
        kernel = (members[i, :20] - 1.0).reshape(4, 5)
        assert np.linalg.matrix_rank(kernel, tol=1e-6) == 2  # rank 2, not a full 4 x 5 matrix of noise
        a, b = (np.asarray(f[i]) for f in population.factors[0])
        np.testing.assert_allclose(kernel, 0.1 / np.sqrt(2) * a @ b.T, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(members[i, 20:] - 1.0, 0.1 * np.asarray(population.factors[1][0][i]), atol=1e-6)
    np.testing.assert_array_equal(population.member(4), members[4])
    with pytest.raises(IndexError, match=r"\[0, 6\)"):
        population.member(6)


def test_the_noise_is_regenerated_not_stored():
    es = LowRankES(784 * 128, 16_384, layer_shapes=[(784, 128)], seed=3)
    population = es.ask()
    factor_bytes = sum(np.asarray(f).nbytes for factor in population.factors for f in factor)
    assert factor_bytes == 8192 * (784 + 128) * 4  # 29 MB of factors, against 6.6 GB for the dense population
    state = es.state_dict()
    assert len(pickle.dumps(state)) < 4 * 784 * 128 * 4  # center, best, optimizer moments: no noise
    again = LowRankES(784 * 128, 16_384, layer_shapes=[(784, 128)], seed=99)
    again.load_state_dict(pickle.loads(pickle.dumps(state)))  # restored between ask() and tell()
    for mine, theirs in zip(population.factors[0], again.ask().factors[0]):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))
    stale = LowRankES(784 * 128, 16_384, layer_shapes=[(784, 128)], seed=3)
    stale.ask()
    stale.tell(np.arange(16_384.0))
    stale.ask()  # a pending population of generation 1 ...
    stale.load_state_dict(state)  # ... replaced by generation 0's, drawn again
    np.testing.assert_array_equal(np.asarray(stale.ask().factors[0][1]), np.asarray(population.factors[0][1]))


def test_rank_and_layer_shapes_are_checked():
    with pytest.raises(ValueError, match="rank"):
        LowRankES(20, 4, layer_shapes=[(4, 5)], rank=0)
    with pytest.raises(ValueError, match="num_params=21"):
        LowRankES(21, 4, layer_shapes=[(4, 5)])
    with pytest.raises(ValueError, match="even"):
        LowRankES(20, 5)


@pytest.mark.parametrize("metric", ["neg_loss", "accuracy"])
def test_low_rank_scores_equal_scoring_the_materialized_members(digits, metric):
    model = build()
    es = strategy_for(model, population_size=14, rank=2, sigma=0.2)
    population = es.ask()
    # a small memory budget: several chunks of pairs, the last one padded, and the data split in chunks
    evaluator = evolab.PopulationEvaluator(model, *digits.train, metric=metric, data_chunk=500, memory_budget=500_000)
    low_rank = evaluator(population)
    assert evaluator._pairs_in_use < population.half and population.half % evaluator._pairs_in_use
    from evolab.lowrank import kernel_numbers_per_pair, plan

    assert kernel_numbers_per_pair(plan(model), evolab.ParameterLayout.from_model(model).shapes) == 2 * (16 * 12 + 12 * 10)
    dense = evaluator(np.asarray(population))
    np.testing.assert_allclose(low_rank, dense, rtol=1e-5, atol=1e-5)
    one_by_one = [evolab.evaluate_parameters(model, population.member(i), *digits.train, metric) for i in range(14)]
    np.testing.assert_allclose(low_rank, one_by_one, rtol=1e-4, atol=1e-5)
    assert len(set(np.round(low_rank, 6))) > 7  # the members really differ


def test_a_functional_chain_with_flatten_and_dropout_scores_the_same(digits):
    import keras

    inputs = keras.Input((8, 8))
    h = keras.layers.Flatten()(inputs)
    h = keras.layers.Dense(10, activation="tanh")(h)
    h = keras.layers.Dropout(0.5)(h)
    outputs = keras.layers.Dense(10)(h)  # logits
    model = keras.Model(inputs, outputs)
    x, y = digits.train[0].reshape(-1, 8, 8), digits.train[1]
    population = strategy_for(model, population_size=6, sigma=0.3).ask()
    evaluator = evolab.PopulationEvaluator(model, x, y, metric="neg_loss")
    np.testing.assert_allclose(evaluator(population), evaluator(np.asarray(population)), rtol=1e-5, atol=1e-5)


def test_the_cnn_scores_the_same_from_its_factors(digits):
    model = evolab.models.cnn((8, 8, 1), filters=(4, 6), kernel_size=3)  # Conv2D, MaxPooling2D, Flatten, Dense
    x, y = digits.train[0][:300].reshape(-1, 8, 8, 1), digits.train[1][:300]
    population = strategy_for(model, population_size=10, rank=2, sigma=0.2).ask()
    evaluator = evolab.PopulationEvaluator(model, x, y, metric="neg_loss", memory_budget=2_000_000)
    low_rank = evaluator(population)
    assert evaluator._pairs_in_use < population.half  # several passes of pairs
    np.testing.assert_allclose(low_rank, evaluator(np.asarray(population)), rtol=1e-4, atol=1e-5)
    assert len(set(np.round(low_rank, 5))) > 5


def test_strided_dilated_valid_convolutions_and_global_pooling_score_the_same(digits):
    import keras

    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(3, 3, dilation_rate=2, padding="valid", activation="tanh")(inputs)
    h = keras.layers.Conv2D(4, 3, strides=2, padding="same", use_bias=False)(h)
    h = keras.layers.AveragePooling2D(1)(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    outputs = keras.layers.Dense(10)(h)  # logits
    model = keras.Model(inputs, outputs)
    x, y = digits.train[0][:200].reshape(-1, 8, 8, 1), digits.train[1][:200]
    population = strategy_for(model, population_size=6, sigma=0.3).ask()
    evaluator = evolab.PopulationEvaluator(model, x, y, metric="neg_loss")
    np.testing.assert_allclose(evaluator(population), evaluator(np.asarray(population)), rtol=1e-4, atol=1e-5)


def test_an_unsupported_layer_is_named():
    import keras

    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(8), keras.layers.BatchNormalization(name="bn"),
                              keras.layers.Dense(10)])
    population = strategy_for(model, population_size=4).ask()
    evaluator = evolab.PopulationEvaluator(model, np.zeros((10, 64), np.float32), np.zeros(10, int))
    with pytest.raises(ValueError, match=r"'bn'.*BatchNormalization.*Dense, Conv2D.*pgpe"):
        evaluator(population)
    other = strategy_for(build(hidden_units=(4,)), population_size=4).ask()
    with pytest.raises(ValueError, match="layer_shapes"):
        evolab.PopulationEvaluator(build(), np.zeros((10, 64), np.float32), np.zeros(10, int))(other)


def test_gradient_estimate_points_along_the_true_gradient():
    # f(W) = -|W - T|^2 for a 20 x 20 matrix: gradient -2 (W - T) = 2 T at W = 0
    target = np.random.default_rng(1).normal(size=(20, 20))
    es = LowRankES(400, 8000, layer_shapes=[(20, 20)], sigma=0.01, fitness_shaping="raw", seed=0)
    population = np.asarray(es.ask())
    estimate = es.gradient_estimate(-np.sum((population - target.reshape(-1)) ** 2, axis=1))
    true = 2 * target.reshape(-1)
    assert estimate @ true / (np.linalg.norm(estimate) * np.linalg.norm(true)) > 0.85
    assert np.linalg.norm(estimate) == pytest.approx(np.linalg.norm(true), rel=0.25)


def test_schedules_and_exact_resume(digits, tmp_path):
    model = build()
    options = dict(strategy="lowrank_es", population_size=16, batch_size=128, seed=1, progress_bar=False,
                   sigma=0.1, learning_rate=0.02, sigma_schedule=decay(0.9, floor=0.05))
    full = evolab.neuroevolve(model, digits.train, digits.validation, num_generations=6, **options)
    model = build()
    evolab.neuroevolve(model, digits.train, digits.validation, num_generations=3, checkpoint=tmp_path / "c.pkl",
                       checkpoint_every=1, **options)
    model = build()
    resumed = evolab.neuroevolve(model, digits.train, digits.validation, num_generations=6,
                                 checkpoint=tmp_path / "c.pkl", resume=True, **options)
    np.testing.assert_array_equal(resumed.best_parameters, full.best_parameters)
    np.testing.assert_array_equal(resumed.history["fitness_max"], full.history["fitness_max"])
    assert full.strategy.current_sigma == pytest.approx(max(0.1 * 0.9**6, 0.05))


def test_neuroevolve_learns_digits_with_the_low_rank_strategy(digits):
    model = build(hidden_units=(32,))
    result = evolab.neuroevolve(model, digits.train, digits.validation, digits.test, strategy="lowrank_es",
                                population_size=64, num_generations=60, seed=0, progress_bar=False,
                                sigma=0.05, learning_rate=0.02)
    assert result.best_val_accuracy > 0.8 and result.test_accuracy > 0.75, result.history.tail()


# -- the whole generation compiled on the backend (CompiledGeneration) ----------------------------------------


def fixed_batch_evaluator(model, engine, generation):
    """An evaluator of exactly the mini-batch that the compiled generation draws at ``generation``."""
    from keras import ops

    x, y = engine._batch(generation)
    return evolab.PopulationEvaluator(model, ops.convert_to_numpy(x), ops.convert_to_numpy(y), metric="neg_loss")


def check_interrupted_run_resumes_exactly(digits, tmp_path, options, full):
    """Three generations with a checkpoint, then resumed to six: the uninterrupted run's history and best member."""
    evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=3, checkpoint=tmp_path / "c.pkl",
                       checkpoint_every=2, **options)
    resumed = evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=6,
                                 checkpoint=tmp_path / "c.pkl", resume=True, **options)
    np.testing.assert_array_equal(resumed.best_parameters, full.best_parameters)
    np.testing.assert_array_equal(resumed.history["fitness_max"], full.history["fitness_max"])


def check_compiled_matches_ask_tell(digits, make, options):
    """Four compiled generations give ask/evaluate/tell's scores, center, moments and best member."""
    from evolab.strategies import CompiledGeneration

    model = build()
    evaluator = evolab.PopulationEvaluator(model, *digits.train, metric="neg_loss", batch_size=100,
                                           memory_budget=2**18)  # several passes, the last one padded
    compiled, reference = (make(model, 46, sigma=0.05, learning_rate=0.02, **options) for _ in range(2))
    engine = CompiledGeneration(compiled, evaluator)
    assert engine.passes > 1 and engine.passes * engine.pairs > 23
    for generation in range(4):
        fitness = engine.step()
        expected = fixed_batch_evaluator(model, engine, generation)(reference.ask())
        reference.tell(expected)
        np.testing.assert_allclose(fitness, expected, rtol=1e-5, atol=1e-5)
    engine.sync()
    assert compiled.generation == reference.generation == 4
    np.testing.assert_allclose(compiled.center, reference.center, atol=1e-5)
    for name in reference.optimizer._state_names:
        np.testing.assert_allclose(getattr(compiled.optimizer, name), getattr(reference.optimizer, name), atol=1e-5)
    assert compiled.best_fitness == pytest.approx(reference.best_fitness, abs=1e-5)
    np.testing.assert_allclose(compiled.best_solution, reference.best_solution, atol=1e-5)
    return compiled, reference


@pytest.mark.parametrize("options", [
    dict(),
    dict(optimizer="clipup", fitness_shaping="normalized", rank=2, sigma_schedule=decay(0.8, floor=0.02),
         learning_rate_schedule=decay(0.9)),
])
def test_a_compiled_generation_is_ask_evaluate_tell_in_one_function(digits, options):
    compiled, reference = check_compiled_matches_ask_tell(digits, strategy_for, options)
    assert compiled.ask().factors[0][0].shape == reference.ask().factors[0][0].shape  # ask/tell go on after a sync


def test_a_compiled_generation_moves_no_population_between_host_and_device(digits):
    jax = pytest.importorskip("jax")
    import keras

    if keras.backend.backend() != "jax":
        pytest.skip("the transfer guard is JAX's")
    from evolab.strategies import CompiledGeneration

    model = build()
    strategy = strategy_for(model, 64, sigma=0.05, sigma_schedule=decay(0.9))  # a new sigma every generation
    evaluator = evolab.PopulationEvaluator(model, *digits.train, metric="neg_loss", batch_size=128)
    engine = CompiledGeneration(strategy, evaluator)
    engine.step()  # traced and compiled here
    with jax.transfer_guard("disallow"):  # only explicit transfers: two scalars in, the scores out
        for _ in range(3):
            fitness = engine.step()
    assert fitness.shape == (64,) and np.isfinite(fitness).all()
    with jax.transfer_guard("disallow"), pytest.raises(Exception, match="[Dd]isallowed"):
        strategy.tell(evaluator(strategy.ask()))  # the guard does catch the ask/evaluate/tell path's transfers


def test_neuroevolve_compiles_the_low_rank_generation_and_resumes_it(digits, tmp_path):
    options = dict(strategy="lowrank_es", population_size=16, batch_size=128, seed=1, progress_bar=False,
                   sigma=0.1, learning_rate=0.02)
    full = evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=6, **options)
    again = evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=6, **options)
    assert full.config["compiled_generation"] is True
    np.testing.assert_array_equal(full.history["fitness_max"], again.history["fitness_max"])  # same seed, same run
    eager = evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=6,
                               compiled_generation=False, **options)
    assert eager.config["compiled_generation"] is False
    assert not np.array_equal(eager.history["fitness_max"], full.history["fitness_max"])  # other mini-batches
    check_interrupted_run_resumes_exactly(digits, tmp_path, options, full)
    with pytest.raises(ValueError, match="different set-up"):
        evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=6, checkpoint=tmp_path / "c.pkl",
                           resume=True, compiled_generation=False, **options)


def test_compiled_generation_says_when_it_cannot_run(digits):
    from evolab.strategies import CompiledGeneration

    model = build()
    common = dict(population_size=8, num_generations=1, progress_bar=False, compiled_generation=True)
    with pytest.raises(ValueError, match="runs a LowRankES, or an OpenAIES with noise='table'; received OpenAIES "
                                         "with noise='fresh'"):
        evolab.neuroevolve(model, digits.train, digits.validation, strategy="openai_es", **common)
    with pytest.raises(ValueError, match="built-in metric"):
        evolab.neuroevolve(model, digits.train, digits.validation, strategy="lowrank_es",
                           fitness_metric=lambda y, p: -evolab.fitness.ops.mean(p), **common)
    with pytest.raises(ValueError, match="None, True or False"):
        evolab.neuroevolve(model, digits.train, digits.validation, strategy="lowrank_es", **{**common,
                           "compiled_generation": "yes"})
    strategy = strategy_for(model, 8)
    strategy.fitness_shaping = "rank_utilities"  # LowRankES refuses it when built; the compiled step checks again
    with pytest.raises(ValueError, match="shapes fitness by"):
        CompiledGeneration(strategy, evolab.PopulationEvaluator(model, *digits.train, metric="neg_loss"))


# -- OpenAI-ES with its shared noise table: full-rank noise, the same compiled generation --------------------


def table_strategy(model, population_size=10, **options):
    from evolab.strategies import OpenAIES

    layout = evolab.ParameterLayout.from_model(model)
    return OpenAIES(layout.num_params, population_size, center=evolab.get_parameters(model), seed=0, noise="table",
                    **options)


def test_the_noise_table_gives_each_pair_a_slice_and_is_never_stored():
    from evolab.strategies import NOISE_TABLE_SIZE, OpenAIES

    es = OpenAIES(1000, 8, center=np.ones(1000), sigma=0.1, seed=4, noise="table")
    population, table = es.ask(), es.noise_table
    assert table.shape == (NOISE_TABLE_SIZE,) and table.dtype == np.float32
    offsets = es.noise_offsets(0)
    assert offsets.shape == (4,) and offsets.max() <= table.size - 1000 and len(set(offsets)) == 4
    for j, start in enumerate(offsets):
        np.testing.assert_allclose(population[j], 1.0 + 0.1 * table[start:start + 1000], rtol=1e-6)
        np.testing.assert_allclose(population[j + 4], 1.0 - 0.1 * table[start:start + 1000], rtol=1e-6)
    assert not np.array_equal(es.noise_offsets(1), offsets)  # another generation, other slices
    again = OpenAIES(1000, 8, center=np.ones(1000), sigma=0.1, seed=4, noise="table")
    np.testing.assert_array_equal(again.ask(), population)  # same seed, same table, same slices
    es.tell(-np.sum(population ** 2, axis=1))
    state = pickle.loads(pickle.dumps(es.state_dict()))
    assert "_table" not in state and len(pickle.dumps(state)) < 20 * 1000 * 4  # the table is drawn again
    resumed = OpenAIES(1000, 8, center=np.ones(1000), sigma=0.1, seed=99, noise="table")
    resumed.load_state_dict(state)
    np.testing.assert_array_equal(resumed.ask(), es.ask())
    assert OpenAIES(10**7, 2, noise="table", seed=0).noise_table.size == 2 * 10**7  # a larger model, a larger table
    with pytest.raises(ValueError, match=r"noise to be one of \['fresh', 'table'\], received 'shared'"):
        OpenAIES(10, 4, noise="shared")


def test_full_noise_scores_equal_the_materialized_members_on_the_cnn(digits):
    from keras import ops

    model = evolab.models.cnn((8, 8, 1), filters=(4, 6), kernel_size=3)  # full noise on conv kernels too
    x, y = digits.train[0][:200].reshape(-1, 8, 8, 1), digits.train[1][:200]
    es = table_strategy(model, 8, sigma=0.2)
    evaluator = evolab.PopulationEvaluator(model, x, y, metric="neg_loss")
    evaluator._prepare_low_rank(None)
    parts = [ops.convert_to_tensor(p) for p in evaluator.layout.unflatten(es.center)]
    table, offsets = ops.convert_to_tensor(es.noise_table), ops.convert_to_tensor(es.noise_offsets(0))
    sums = ops.convert_to_numpy(evaluator._table_pass(parts, table, offsets, ops.convert_to_tensor(np.float32(0.2)),
                                                      ops.convert_to_tensor(x), ops.convert_to_tensor(y)))
    expected = evaluator(es.ask())
    np.testing.assert_allclose(np.concatenate([sums[0], sums[1]]) / len(x), expected, rtol=1e-4, atol=1e-5)
    assert len(set(np.round(expected, 5))) > 5


@pytest.mark.parametrize("options", [
    dict(weight_decay=0.01),
    dict(optimizer="clipup", fitness_shaping="normalized", sigma_schedule=decay(0.8, floor=0.02),
         learning_rate_schedule=decay(0.9)),
])
def test_a_compiled_openai_es_generation_is_ask_evaluate_tell(digits, options):
    compiled, reference = check_compiled_matches_ask_tell(digits, table_strategy, options)
    np.testing.assert_allclose(compiled.ask(), reference.ask(), atol=1e-5)  # ask/tell go on after a sync


def test_a_compiled_openai_es_generation_sends_only_the_offsets(digits):
    jax = pytest.importorskip("jax")
    import keras

    if keras.backend.backend() != "jax":
        pytest.skip("the transfer guard is JAX's")
    from evolab.strategies import CompiledGeneration

    model = build()
    strategy = table_strategy(model, 64, sigma=0.05, sigma_schedule=decay(0.9))
    engine = CompiledGeneration(strategy, evolab.PopulationEvaluator(model, *digits.train, metric="neg_loss",
                                                                     batch_size=128))
    engine.step()
    with jax.transfer_guard("disallow"):  # two scalars and 32 offsets in, the scores out
        for _ in range(3):
            fitness = engine.step()
    assert fitness.shape == (64,) and np.isfinite(fitness).all()


def test_neuroevolve_compiles_openai_es_with_its_noise_table_and_resumes_it(digits, tmp_path):
    options = dict(strategy="openai_es", noise="table", population_size=16, batch_size=128, seed=1,
                   progress_bar=False, sigma=0.1, learning_rate=0.02)
    full = evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=6, **options)
    again = evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=6, **options)
    assert full.config["compiled_generation"] is True
    np.testing.assert_array_equal(full.history["fitness_max"], again.history["fitness_max"])
    fresh = evolab.neuroevolve(build(), digits.train, digits.validation, num_generations=6,
                               **{**options, "noise": "fresh"})
    assert fresh.config["compiled_generation"] is False  # NumPy's fresh noise: ask/evaluate/tell
    check_interrupted_run_resumes_exactly(digits, tmp_path, options, full)


def test_openai_es_with_its_noise_table_learns_digits(digits):
    result = evolab.neuroevolve(build(), digits.train, digits.validation, digits.test, strategy="openai_es",
                                noise="table", population_size=64, num_generations=100, seed=0, progress_bar=False,
                                sigma=0.05, learning_rate=0.05)
    assert result.best_val_accuracy > 0.8 and result.test_accuracy > 0.75, result.history.tail()
