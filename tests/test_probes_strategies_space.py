"""The reliability review's probes S1..S17 (ask/tell strategies) and P1..P27 (search spaces), one test per probe.

The review is ../shared/reviews/reliability.md ("Probe table"). Each test reproduces the input of its row against
today's code and asserts what a careful user expects now: a bad input is refused with a message that names the
argument and the value received; a valid edge input is accepted and gives the right result.
"""

import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from evolab.search.space import Categorical, Integer, Real, SearchSpace
from evolab.strategies import PGPE, SNES, STRATEGIES, OpenAIES, SimpleGA, get_strategy

# probe id: (class in the review, class now)
OUTCOMES = {
    "S1": ("CLEAR", "CLEAR"), "S2": ("CLEAR", "CLEAR"), "S3": ("CLEAR", "CLEAR"), "S4": ("CLEAR", "CLEAR"),
    "S5": ("OK", "OK"), "S6": ("SILENT", "OK"), "S7": ("OK", "OK"), "S8": ("CLEAR", "CLEAR"),
    "S9": ("CLEAR", "CLEAR"), "S10": ("CLEAR", "CLEAR"), "S11": ("UNCLEAR", "CLEAR"), "S12": ("CLEAR", "CLEAR"),
    "S13": ("CLEAR", "CLEAR"), "S14": ("CLEAR", "CLEAR"), "S15": ("CLEAR", "CLEAR"), "S16": ("CLEAR", "CLEAR"),
    "S17": ("UNCLEAR", "CLEAR"),
    "P1": ("CLEAR", "CLEAR"), "P2": ("CLEAR", "CLEAR"), "P3": ("CLEAR", "CLEAR"), "P4": ("CLEAR", "CLEAR"),
    "P5": ("CLEAR", "CLEAR"), "P6": ("CLEAR", "CLEAR"), "P7": ("CLEAR", "CLEAR"), "P8": ("CLEAR", "CLEAR"),
    "P9": ("OK", "OK"), "P10": ("CLEAR", "CLEAR"), "P11": ("CLEAR", "CLEAR"), "P12": ("CLEAR", "CLEAR"),
    "P13": ("CLEAR", "CLEAR"), "P14": ("CLEAR", "CLEAR"), "P15": ("CLEAR", "CLEAR"), "P16": ("CLEAR", "CLEAR"),
    "P17": ("CLEAR", "CLEAR"), "P18": ("CLEAR", "CLEAR"), "P19": ("CLEAR", "CLEAR"), "P20": ("CLEAR", "CLEAR"),
    "P21": ("CLEAR", "CLEAR"), "P22": ("CLEAR", "CLEAR"), "P23": ("OK", "OK"), "P24": ("SILENT", "CLEAR"),
    "P25": ("OK", "OK"), "P26": ("CLEAR", "CLEAR"), "P27": ("OK", "OK"),
}

NUM_PARAMS, POPULATION = 5, 8


def sphere(population):
    """Scores for a population: higher is better, best at (1, 1, ..., 1) (not at the zero center)."""
    return -np.sum(np.square(population - 1.0), axis=1)


def space(dimension):
    """A one-dimensional search space whose dimension is called 'x' (as in the review's messages)."""
    return SearchSpace({"x": dimension})


# -- S: ask/tell strategies -------------------------------------------------------------------------------------

def test_S1_unknown_strategy_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=re.escape(f"one of {sorted(STRATEGIES)}, or a Strategy; received 'nes'")):
        get_strategy("nes", NUM_PARAMS, POPULATION)
    assert sorted(STRATEGIES) == ["ga", "lowrank_es", "openai_es", "pgpe", "snes"]


def test_S2_snes_with_zero_parameters_is_refused():
    with pytest.raises(ValueError, match=r"Expected num_params to be an int >= 1, received 0\."):
        SNES(0, POPULATION)


def test_S3_tell_with_too_few_scores_is_refused_and_the_population_stays_pending():
    snes = SNES(NUM_PARAMS, POPULATION, seed=0)
    population = snes.ask()
    with pytest.raises(ValueError, match=r"fitness of shape \(8,\) .*received shape \(7,\)"):
        snes.tell(np.zeros(7))
    assert snes.generation == 0
    np.testing.assert_array_equal(snes.ask(), population)  # the same population can still be told
    snes.tell(sphere(population))
    assert snes.generation == 1


def test_S4_tell_before_ask_says_how_to_call_them():
    with pytest.raises(RuntimeError, match=r"SNES\.tell\(\) was called without a pending ask\(\): call ask\(\)"):
        SNES(NUM_PARAMS, POPULATION, seed=0).tell(np.zeros(POPULATION))


def test_S5_openai_es_does_not_move_on_all_nan_scores():
    es = OpenAIES(NUM_PARAMS, POPULATION, seed=0)
    first = es.ask()
    es.tell(np.full(POPULATION, np.nan))
    np.testing.assert_array_equal(es.center, np.zeros(NUM_PARAMS))
    assert es.generation == 1 and es.best_fitness == -np.inf
    second = es.ask()  # new candidates around the same center
    assert not np.array_equal(first, second)
    es.tell(sphere(second))
    assert not np.array_equal(es.center, np.zeros(NUM_PARAMS))  # real scores move it again


def test_S6_snes_does_not_move_on_all_nan_scores():
    snes = SNES(NUM_PARAMS, POPULATION, seed=0)
    snes.ask()
    snes.tell(np.full(POPULATION, np.nan))
    np.testing.assert_array_equal(snes.center, np.zeros(NUM_PARAMS))
    np.testing.assert_array_equal(snes.current_sigma, np.full(NUM_PARAMS, 0.05, dtype=np.float32))
    assert snes.generation == 1


def test_S7_ga_takes_an_infinite_score_as_the_best():
    ga = SimpleGA(3, POPULATION, seed=0)
    population = ga.ask()
    fitness = np.zeros(POPULATION)
    fitness[3] = np.inf
    ga.tell(fitness)
    assert ga.best_fitness == np.inf
    np.testing.assert_array_equal(ga.center, population[3])
    np.testing.assert_array_equal(ga.ask()[0], population[3])  # and it is the elite of the next generation


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_S8_center_with_nan_or_inf_is_refused(bad):
    with pytest.raises(ValueError, match="Expected center to hold only finite numbers, received NaN or inf"):
        SNES(3, POPULATION, center=[0.0, bad, 0.0])


def test_S9_center_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match=r"center to be a 1-D array of shape \(3,\), received shape \(2,\)"):
        SNES(3, POPULATION, center=[0.0, 0.0])


def test_S10_state_of_another_strategy_is_refused():
    pgpe = PGPE(NUM_PARAMS, POPULATION, seed=0)
    with pytest.raises(ValueError, match=re.escape("= ('pgpe', 5, 8), received ('snes', 5, 8)")):
        pgpe.load_state_dict(SNES(NUM_PARAMS, POPULATION, seed=0).state_dict())
    assert pgpe.generation == 0


@pytest.mark.parametrize("scores, shown", [
    (["a"] * POPULATION, "['a', 'a', 'a']"),
    (["0.5"] * POPULATION, "['0.5', '0.5', '0.5']"),  # once silently converted to numbers
    ([None] * POPULATION, "[None, None, None]"),  # once silently read as NaN
])
def test_S11_string_or_none_scores_are_refused_naming_what_came(scores, shown):
    snes = SNES(NUM_PARAMS, POPULATION, seed=0)
    population = snes.ask()
    with pytest.raises(TypeError, match=r"Expected fitness to hold numbers .*received an array of dtype "
                                        rf".* starting {re.escape(shown)}"):
        snes.tell(scores)
    snes.tell(list(range(POPULATION)))  # whole numbers are scores: the pending population takes them
    assert snes.generation == 1 and snes.best_fitness == POPULATION - 1
    np.testing.assert_array_equal(snes.best_solution, population[-1])


@pytest.mark.parametrize("make", [lambda: PGPE(NUM_PARAMS, 3), lambda: get_strategy("pgpe", NUM_PARAMS, 3)])
def test_S12_pgpe_with_an_odd_population_is_refused(make):
    with pytest.raises(ValueError, match=r"PGPE samples mirrored pairs .*population_size must be even; received 3"):
        make()


def test_S13_ga_mutation_rate_above_one_is_refused():
    with pytest.raises(ValueError, match=r"Expected mutation_rate to be a number in \[0, 1\], received 1\.5"):
        SimpleGA(NUM_PARAMS, POPULATION, mutation_rate=1.5)


def test_S14_ga_unknown_selection_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"selection to be one of \['tournament', 'truncation'\], received 'roulette'"):
        SimpleGA(NUM_PARAMS, POPULATION, selection="roulette")


def test_S15_ga_tournament_of_zero_is_refused():
    with pytest.raises(ValueError, match=r"Expected tournament_size to be an int >= 1, received 0"):
        SimpleGA(NUM_PARAMS, POPULATION, tournament_size=0)


@pytest.mark.parametrize("name", ["openai_es", "pgpe", "snes", "lowrank_es"])
def test_S16_infinite_sigma_is_refused_by_every_evolution_strategy(name):
    with pytest.raises(ValueError, match=r"Expected sigma to be a finite number > 0, received inf"):
        get_strategy(name, NUM_PARAMS, POPULATION, sigma=np.inf)


def test_S17_ga_truncation_fraction_given_as_a_string_is_refused():
    with pytest.raises(ValueError, match=r"truncation_fraction to be a number in \(0, 1\], received '0\.5'"):
        SimpleGA(NUM_PARAMS, POPULATION, selection="truncation", truncation_fraction="0.5")


# -- P: search spaces -----------------------------------------------------------------------------------------

def test_P1_real_with_low_above_high_is_refused():
    with pytest.raises(ValueError, match=r"dimension 'x' \(Real\): low must be < high; received low=1, high=0"):
        space(Real(1, 0))


def test_P2_log_real_from_zero_is_refused():
    with pytest.raises(ValueError, match=r"dimension 'x' \(Real\): log=True needs low > 0; received low=0"):
        space(Real(0, 1, log=True))


def test_P3_empty_categorical_is_refused():
    with pytest.raises(ValueError, match=r"dimension 'x' \(Categorical\): choices must not be empty"):
        space(Categorical([]))


def test_P4_categorical_of_a_string_is_refused():
    with pytest.raises(ValueError, match=r"\(Categorical\): choices must be a list or tuple; received 'abc'"):
        space(Categorical("abc"))


def test_P5_integer_with_a_float_bound_is_refused():
    with pytest.raises(ValueError, match=r"dimension 'x' \(Integer\): low must be an int; received 1\.5"):
        space(Integer(1.5, 3))


def test_P6_integer_with_low_equal_to_high_is_refused():
    with pytest.raises(ValueError, match=r"\(Integer\): low must be < high; received low=5, high=5"):
        space(Integer(5, 5))


def test_P7_reserved_dimension_name_is_refused():
    with pytest.raises(ValueError, match=r"dimension 'score': this name is reserved for a trials column"):
        SearchSpace({"score": Real(0, 1)})


def test_P8_plain_float_as_a_dimension_is_refused():
    with pytest.raises(ValueError, match=r"dimension 'lr': expected Real, Integer, Categorical or a list of "
                                         r"choices; received float: 0\.1"):
        SearchSpace({"lr": 0.1})


def test_P9_a_tuple_is_read_as_two_choices_as_documented():
    tuple_space = SearchSpace({"lr": (0.001, 0.1)})
    assert isinstance(tuple_space.dimensions["lr"], Categorical)
    assert tuple_space.grid() == [{"lr": 0.001}, {"lr": 0.1}]


def test_P10_real_with_a_nan_bound_is_refused():
    with pytest.raises(ValueError, match=r"\(Real\): low and high must be finite numbers; received low=nan, high=1"):
        space(Real(np.nan, 1))


def test_P11_real_with_an_infinite_bound_is_refused():
    with pytest.raises(ValueError, match=r"\(Real\): low and high must be finite numbers; received low=0, high=inf"):
        space(Real(0, np.inf))


def test_P12_real_with_zero_bits_is_refused():
    with pytest.raises(ValueError, match=r"\(Real\): bits must be an int in \[1, 32\]; received 0"):
        space(Real(0, 1, bits=0))


def test_P13_real_grid_points_outside_the_range_are_refused():
    with pytest.raises(ValueError, match=r"\(Real\): points must be numbers in \[0, 1\]; received \[0\.5, 2\]"):
        space(Real(0, 1, points=[0.5, 2]))


def test_P14_integer_step_zero_is_refused():
    with pytest.raises(ValueError, match=r"\(Integer\): step must be >= 1; received 0"):
        space(Integer(0, 10, step=0))


def test_P15_log_integer_with_a_step_is_refused():
    with pytest.raises(ValueError, match=r"\(Integer\): log=True needs step=1; received step=2"):
        space(Integer(1, 10, log=True, step=2))


def test_P16_empty_space_is_refused():
    with pytest.raises(ValueError, match=r"a search space must be a non-empty dict of dimensions; received \{\}"):
        SearchSpace({})


def test_P17_space_as_a_list_of_pairs_is_refused():
    with pytest.raises(ValueError, match=r"non-empty dict of dimensions; received \[\('x', Real\(0, 1"):
        SearchSpace([("x", Real(0, 1))])


def test_P18_non_string_dimension_name_is_refused():
    with pytest.raises(ValueError, match=r"dimension names must be non-empty strings; received 1"):
        SearchSpace({1: Real(0, 1)})


def test_P19_real_with_string_bounds_is_refused():
    with pytest.raises(ValueError, match=r"low and high must be finite numbers; received low='0', high='1'"):
        space(Real("0", "1"))


def test_P20_categorical_of_a_numpy_array_is_refused():
    with pytest.raises(ValueError, match=r"choices must be a list or tuple; received array\(\[1, 2\]\)"):
        space(Categorical(np.array([1, 2])))


def test_P21_log_integer_from_zero_is_refused():
    with pytest.raises(ValueError, match=r"\(Integer\): log=True needs low > 0; received low=0"):
        space(Integer(0, 10, log=True))


def test_P22_real_with_zero_grid_points_is_refused():
    with pytest.raises(ValueError, match=r"\(Real\): num must be a positive int; received 0"):
        space(Real(0, 1, num=0))


def test_P23_names_differing_only_in_case_are_two_dimensions():
    both = SearchSpace({"lr": Real(0, 1), "LR": Integer(1, 3)})
    assert both.names == ["lr", "LR"]
    point = both.sample(np.random.default_rng(0))
    assert 0 <= point["lr"] <= 1 and point["LR"] in (1, 2, 3)


@pytest.mark.parametrize("make", [lambda: space(Categorical([1, 1.0, True])),
                                  lambda: SearchSpace({"x": [1, 1.0, True]})])
def test_P24_equal_categorical_choices_are_refused(make):
    with pytest.raises(ValueError, match=r"\(Categorical\): choices must differ from each other .*1\.0 appears more "
                                         r"than once in \[1, 1\.0, True\]"):
        make()


def test_P25_log_real_grid_is_geometric_and_exact():
    assert space(Real(1e-5, 1e-1, log=True, num=3)).grid() == [{"x": 1e-05}, {"x": 0.001}, {"x": 0.1}]


def test_P26_decoding_a_vector_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match=r"expected a vector of 1 coordinates; received shape \(2,\)"):
        space(Real(0, 1)).decode([0.1, 0.2])


def test_P27_integer_step_stops_at_the_last_value_on_the_lattice():
    stepped = Integer(0, 10, step=3)
    stepped_space = space(stepped)
    assert list(stepped.values()) == [0, 3, 6, 9]
    assert stepped_space.decode([1.0]) == {"x": 9}
    assert stepped.snap(10) == 9 and stepped.snap(-4) == 0
    assert stepped_space.grid() == [{"x": 0}, {"x": 3}, {"x": 6}, {"x": 9}]
