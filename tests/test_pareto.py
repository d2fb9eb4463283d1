"""evolab.pareto: dominance and hypervolume in two and more objectives, against DEAP and hand-computed values."""

import numpy as np
import pytest

from evolab import pareto


def test_pareto_mask_in_three_objectives_and_mixed_directions():
    points = np.array([[1, 1, 1], [2, 0, 1], [1, 1, 0], [0, 0, 0], [1, 1, 1]])
    # [1,1,0] and [0,0,0] are dominated by [1,1,1]; equal points do not dominate each other
    np.testing.assert_array_equal(pareto.pareto_mask(points), [True, True, False, False, True])
    minimized = pareto.pareto_mask(points, maximize=False)
    np.testing.assert_array_equal(minimized, [False, False, False, True, False])
    accuracy_vs_size = [[0.9, 1000], [0.95, 5000], [0.85, 2000]]
    np.testing.assert_array_equal(pareto.pareto_mask(accuracy_vs_size, maximize=(True, False)), [True, True, False])


@pytest.mark.parametrize("num_objectives", [2, 3, 4])
def test_hypervolume_matches_deap(num_objectives):
    from deap.benchmarks.tools import hypervolume as deap_hypervolume

    class Individual:
        def __init__(self, values):
            self.fitness = type("F", (), {"wvalues": tuple(values)})()

    rng = np.random.default_rng(num_objectives)
    for _ in range(5):
        points = rng.uniform(0, 1, size=(25, num_objectives))  # maximized; DEAP minimizes -points
        expected = deap_hypervolume([Individual(p) for p in points], ref=np.zeros(num_objectives))
        assert pareto.hypervolume(points, reference=np.zeros(num_objectives)) == pytest.approx(expected)


def test_hypervolume_known_values_and_reference():
    assert pareto.hypervolume([[3, 1], [1, 3]], reference=(0, 0)) == pytest.approx(5.0)
    assert pareto.hypervolume([[1, 1, 1]], reference=(0, 0, 0)) == pytest.approx(1.0)
    # minimized: the box from (1, 1) to the reference (2, 3)
    assert pareto.hypervolume([[1, 1]], reference=(2, 3), maximize=False) == pytest.approx(2.0)
    # duplicates and points behind the reference add nothing
    assert pareto.hypervolume([[3, 1], [3, 1], [1, 3], [-1, 5]], reference=(0, 0)) == pytest.approx(5.0)
    assert pareto.hypervolume([[-1, -1]], reference=(0, 0)) == 0.0
    np.testing.assert_allclose(pareto.default_reference([[0, 10], [1, 20]], maximize=(True, False)), [-0.1, 21.0])


def test_bad_shapes_say_what_was_expected():
    with pytest.raises(ValueError, match=r"shape \(n, k\) with k >= 2.*received shape \(3,\)"):
        pareto.pareto_mask([1, 2, 3])
    with pytest.raises(ValueError, match="one bool per objective"):
        pareto.pareto_mask([[1, 2, 3]], maximize=(True, False))
    with pytest.raises(ValueError, match="one value per objective"):
        pareto.hypervolume([[1, 2]], reference=(0, 0, 0))
