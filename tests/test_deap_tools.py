import random

import numpy as np
import pytest
from deap import algorithms, base, creator, tools

import evolab
from evolab import deap_tools


def test_create_types_is_rerun_safe(recwarn):
    first = deap_tools.create_types()
    second = deap_tools.create_types()
    assert first == second
    assert not [w for w in recwarn if "creator" in str(w.message)]
    fitness, individual = deap_tools.create_types(weights=(1.0, -1.0), fitness_name="FitnessMulti",
                                                  individual_name="MultiIndividual")
    assert fitness.weights == (1.0, -1.0) and issubclass(individual, np.ndarray)
    changed, _ = deap_tools.create_types(weights=(-1.0,), fitness_name="FitnessMulti",
                                         individual_name="MultiIndividual")
    assert changed.weights == (-1.0,) and creator.FitnessMulti is changed


def test_numpy_crossovers_really_exchange_genes():
    _, Individual = deap_tools.create_types()
    random.seed(0)
    a, b = Individual(np.zeros(50)), Individual(np.ones(50))
    deap_tools.cx_two_point(a, b)
    assert 0 < a.sum() < 50 and a.sum() + b.sum() == 50  # genes moved, none were lost or duplicated
    np.testing.assert_array_equal(a + b, np.ones(50))
    a, b = Individual(np.zeros(1000)), Individual(np.ones(1000))
    deap_tools.cx_uniform(a, b, indpb=0.5)
    assert 400 < a.sum() < 600
    np.testing.assert_array_equal(a + b, np.ones(1000))
    a, b = Individual(np.zeros(1000)), Individual(np.ones(1000))
    deap_tools.cx_blend(a, b, alpha=0.5)
    np.testing.assert_allclose(a + b, 1.0)  # blend keeps each pair's sum
    assert a.min() >= -0.5 - 1e-9 and a.max() <= 1.5 + 1e-9 and a.std() > 0.2


def test_mutation_touches_about_indpb_of_the_genes():
    random.seed(1)
    genes = np.zeros(10_000)
    (mutated,) = deap_tools.mut_gaussian(genes, mu=0.0, sigma=1.0, indpb=0.1)
    changed = np.count_nonzero(mutated)
    assert 800 < changed < 1200 and mutated is genes
    as_list = [0.0] * 100
    deap_tools.mut_gaussian(as_list, 0.0, 1.0, 1.0)
    assert isinstance(as_list, list) and all(v != 0.0 for v in as_list)


def test_hall_of_fame_keeps_distinct_numpy_individuals():
    _, Individual = deap_tools.create_types()
    population = [Individual(np.full(3, i, float)) for i in (1, 2, 2, 3)]
    for ind in population:
        ind.fitness.values = (float(ind[0]),)
    hof = deap_tools.hall_of_fame(3)
    hof.update(population)
    assert [h[0] for h in hof] == [3, 2, 1]


def test_seed_lesson_loop_runs_unchanged_with_the_batched_map():
    """The seed lesson's shape: eaSimple, tournament selection, blend crossover, Gaussian mutation."""
    evolab.set_seed(0)
    data = evolab.data.load_digits()
    model = evolab.models.mlp(data.input_shape, hidden_units=(16,))
    evaluator = evolab.PopulationEvaluator(model, *data.validation)
    toolbox = deap_tools.numpy_toolbox(evolab.get_parameters(model), sigma=0.1)
    batched = deap_tools.use_batched_evaluation(toolbox, evaluator)
    toolbox.register("mate", deap_tools.cx_blend, alpha=0.5)
    toolbox.register("mutate", deap_tools.mut_gaussian, mu=0.0, sigma=0.05, indpb=0.2)
    toolbox.register("select", tools.selTournament, tournsize=3)
    population = toolbox.population(n=20)
    hof = deap_tools.hall_of_fame(1)
    stats = tools.Statistics(lambda ind: ind.fitness.values[0])
    stats.register("max", np.max)
    population, logbook = algorithms.eaSimple(population, toolbox, cxpb=0.5, mutpb=0.3, ngen=15, stats=stats,
                                              halloffame=hof, verbose=False)
    assert batched.num_batches == 16  # one batched pass per generation, plus the initial population
    maxima = logbook.select("max")
    assert maxima[-1] > maxima[0]
    best = hof[0]
    assert best.fitness.values[0] == pytest.approx(
        evolab.evaluate_parameters(model, best, *data.validation), abs=1e-6)
    # a single evaluation still works (DEAP calls toolbox.evaluate directly in some algorithms)
    assert toolbox.evaluate(best)[0] == pytest.approx(best.fitness.values[0], abs=1e-6)
    # any other function given to toolbox.map goes to the fallback map
    assert toolbox.map(len, [best, best]) == [len(best)] * 2


def test_batched_map_with_mu_plus_lambda_and_list_individuals():
    deap_tools.create_types(base_type=list, individual_name="ListIndividual")
    toolbox = base.Toolbox()
    target = np.linspace(-1, 1, 8)
    batched = deap_tools.use_batched_evaluation(toolbox, lambda pop: -((pop - target) ** 2).sum(axis=1))
    random.seed(2)
    toolbox.register("individual", tools.initRepeat, creator.ListIndividual, lambda: random.uniform(-2, 2), 8)
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("mate", tools.cxBlend, alpha=0.3)
    toolbox.register("mutate", tools.mutGaussian, mu=0, sigma=0.1, indpb=0.3)
    toolbox.register("select", tools.selTournament, tournsize=3)
    population = toolbox.population(n=30)
    population, _ = algorithms.eaMuPlusLambda(population, toolbox, mu=30, lambda_=30, cxpb=0.5, mutpb=0.4, ngen=30,
                                              verbose=False)
    best = max(population, key=lambda ind: ind.fitness.values[0])
    assert best.fitness.values[0] > -0.5 and batched.num_batches == 31
