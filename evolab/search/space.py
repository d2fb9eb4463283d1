"""Search spaces: ``Real``, ``Integer`` and ``Categorical`` dimensions composed from a dict.

One space serves every search method. Grid search enumerates it, random
search samples it, Optuna and hyperopt get it translated, and the
evolutionary methods (GA, PSO, DE, CMA-ES, NSGA-II) see it as the unit cube
``[0, 1]^d`` (or a bit string, as in the DEAP lesson) through
:meth:`SearchSpace.decode` and :meth:`SearchSpace.encode`.

Introduced in 02_grid_search.ipynb.
"""

from __future__ import annotations

import itertools
import math
import numbers

import numpy as np

__all__ = ["Real", "Integer", "Categorical", "SearchSpace", "as_space"]

# Grid search lists its points; more than this is refused (a million dicts take about a gigabyte).
MAX_GRID_POINTS = 1_000_000

# Column names a trials table uses for itself; a dimension may not take them.
RESERVED_NAMES = frozenset({"number", "score", "status", "error", "duration", "start", "end", "elapsed",
                            "worker", "intermediate"})


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


class Dimension:
    """Base class of the three dimension types (checked when a space is built)."""

    def check(self, name: str) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _fail(self, name, message):
        raise ValueError(f"dimension {name!r} ({type(self).__name__}): {message}")

    def grid_size(self) -> int:
        """How many points grid search takes of this dimension."""
        return len(self.grid())


class Real(Dimension):
    """A continuous hyperparameter in ``[low, high]``.

    Args:
        low: the smallest value.
        high: the largest value (must be > ``low``).
        log: sample and encode on a log scale (for learning rates). Needs ``low > 0``.
        num: how many points grid search takes (default 5): evenly spaced, or
            geometrically spaced when ``log=True``.
        points: an explicit list of grid points (overrides ``num``).
        bits: bits per value in the binary encoding (default 8, 256 levels).

    Example:
        >>> space = {"learning_rate": Real(1e-4, 1e-1, log=True)}
    """

    def __init__(self, low, high, log=False, num=5, points=None, bits=8):
        self.low, self.high, self.log, self.num, self.points, self.bits = low, high, log, num, points, bits

    def check(self, name):
        if not (_is_number(self.low) and _is_number(self.high)):
            self._fail(name, f"low and high must be finite numbers; received low={self.low!r}, high={self.high!r}")
        if self.low >= self.high:
            self._fail(name, f"low must be < high; received low={self.low!r}, high={self.high!r}")
        if self.log and self.low <= 0:
            self._fail(name, f"log=True needs low > 0; received low={self.low!r}")
        if not isinstance(self.num, int) or self.num < 1:
            self._fail(name, f"num must be a positive int; received {self.num!r}")
        if not isinstance(self.bits, int) or not 1 <= self.bits <= 32:
            self._fail(name, f"bits must be an int in [1, 32]; received {self.bits!r}")
        if self.points is not None:
            if len(self.points) == 0 or not all(_is_number(p) and self.low <= p <= self.high for p in self.points):
                self._fail(name, f"points must be numbers in [{self.low}, {self.high}]; received {self.points!r}")

    # unit-cube transform: u in [0, 1] <-> value
    def _to_unit(self, value):
        if self.log:
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)

    def _from_unit(self, u):
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            value = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            value = self.low + u * (self.high - self.low)
        return float(min(max(value, self.low), self.high))  # no rounding error past the bounds

    def sample(self, rng):
        return self._from_unit(rng.uniform())

    def grid(self):
        if self.points is not None:
            return [float(p) for p in self.points]
        if self.num == 1:
            return [self._from_unit(0.5)]
        raw = [self._from_unit(u) for u in np.linspace(0.0, 1.0, self.num)]
        gaps = np.diff(raw)
        return [self._tidy(value, min(gaps[max(i - 1, 0)], gaps[min(i, len(gaps) - 1)])) for i, value in enumerate(raw)]

    def _tidy(self, value, gap):
        """12 significant digits (a log grid shows 0.01, not 0.010000000000000004), when that stays in bounds
        and moves the point by far less than the ``gap`` to its neighbour (a narrow range far from zero keeps
        all digits)."""
        short = float(f"{value:.12g}")
        return short if self.low <= short <= self.high and abs(short - value) <= 1e-6 * gap else value

    def num_bits(self):
        return self.bits

    def to_bits_index(self, value):
        return int(round(min(max(self._to_unit(value), 0.0), 1.0) * (2 ** self.bits - 1)))

    def from_bits_index(self, index):
        return self._from_unit(index / (2 ** self.bits - 1))

    def __repr__(self):
        return f"Real({self.low!r}, {self.high!r}, log={self.log!r})"


class _Discrete(Dimension):
    """Shared code of Integer and Categorical: a finite, ordered list of values."""

    def values(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def index_of(self, value):  # pragma: no cover - overridden
        raise NotImplementedError

    def sample(self, rng):
        values = self.values()
        return values[int(rng.integers(len(values)))]

    def grid(self):
        return list(self.values())

    # The unit interval is cut into one equal bin per value.
    def _to_unit(self, value):
        return (self.index_of(value) + 0.5) / len(self.values())

    def _from_unit(self, u):
        values = self.values()
        index = min(int(min(max(float(u), 0.0), 1.0) * len(values)), len(values) - 1)
        return values[index]

    def num_bits(self):
        return max(1, math.ceil(math.log2(len(self.values()))))

    # A b-bit number k in [0, 2**b) maps evenly onto the n values: index = k * n // 2**b.
    def to_bits_index(self, value):
        return -(-self.index_of(value) * 2 ** self.num_bits() // len(self.values()))

    def from_bits_index(self, k):
        return self.values()[k * len(self.values()) // 2 ** self.num_bits()]


class Integer(_Discrete):
    """An integer hyperparameter in ``[low, high]`` (both included), on a lattice of ``step``.

    Args:
        low: the smallest value.
        high: the largest value (must be > ``low``).
        step: the spacing of allowed values (default 1).
        log: sample on a log scale (for layer widths). Needs ``low > 0`` and ``step=1``.
        num: grid search takes this many evenly (or geometrically) spaced
            values; ``None`` (default) takes every allowed value.

    Example:
        >>> space = {"units": Integer(16, 256, log=True), "num_layers": Integer(1, 3)}
    """

    def __init__(self, low, high, step=1, log=False, num=None):
        self.low, self.high, self.step, self.log, self.num = low, high, step, log, num

    def check(self, name):
        for key in ("low", "high", "step"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                self._fail(name, f"{key} must be an int; received {value!r}")
        if self.low >= self.high:
            self._fail(name, f"low must be < high; received low={self.low!r}, high={self.high!r}")
        if self.step < 1:
            self._fail(name, f"step must be >= 1; received {self.step!r}")
        if self.log and self.low <= 0:
            self._fail(name, f"log=True needs low > 0; received low={self.low!r}")
        if self.log and self.step != 1:
            self._fail(name, f"log=True needs step=1; received step={self.step!r}")
        if self.num is not None and (not isinstance(self.num, int) or self.num < 1):
            self._fail(name, f"num must be a positive int or None; received {self.num!r}")

    def values(self):
        return range(int(self.low), int(self.high) + 1, int(self.step))  # a range: Integer(0, 10**9) costs nothing

    def snap(self, value):
        """The allowed value nearest to ``value``."""
        k = round((float(value) - self.low) / self.step)
        return int(min(max(self.low + k * self.step, self.low), self.values()[-1]))

    def index_of(self, value):
        return (self.snap(value) - self.low) // self.step

    def sample(self, rng):
        if not self.log:
            return super().sample(rng)
        # log-uniform over [low - 0.5, high + 0.5], rounded: each integer gets its share of the log scale
        a, b = math.log(self.low - 0.5), math.log(self.high + 0.5)
        return self.snap(math.exp(rng.uniform(a, b)))

    def _to_unit(self, value):
        if not self.log:
            return super()._to_unit(value)
        a, b = math.log(self.low - 0.5), math.log(self.high + 0.5)
        return (math.log(self.snap(value)) - a) / (b - a)

    def _from_unit(self, u):
        if not self.log:
            return super()._from_unit(u)
        a, b = math.log(self.low - 0.5), math.log(self.high + 0.5)
        return self.snap(math.exp(a + min(max(float(u), 0.0), 1.0) * (b - a)))

    def grid_size(self):
        return len(self.values()) if self.num is None else super().grid_size()  # a range's length, not a list's

    def grid(self):
        if self.num is None:
            return list(self.values())
        if self.log:
            raw = np.geomspace(self.low, self.high, self.num)
        else:
            raw = np.linspace(self.low, self.high, self.num)
        return sorted({self.snap(v) for v in raw})

    def __repr__(self):
        return f"Integer({self.low!r}, {self.high!r}, step={self.step!r}, log={self.log!r})"


class Categorical(_Discrete):
    """A choice among a list of values (strings, numbers, tuples, ``None``...).

    Args:
        choices: a non-empty list or tuple of values.

    Example:
        >>> space = {"activation": Categorical(["relu", "tanh"])}
    """

    def __init__(self, choices):
        self.choices = choices

    def check(self, name):
        if isinstance(self.choices, (str, bytes)) or not isinstance(self.choices, (list, tuple)):
            self._fail(name, f"choices must be a list or tuple; received {self.choices!r}")
        if len(self.choices) == 0:
            self._fail(name, "choices must not be empty; received []")
        repeated = [c for i, c in enumerate(self.choices) if any(c == d for d in list(self.choices)[:i])]
        if repeated:
            self._fail(name, f"choices must differ from each other (each would be tried again); {repeated[0]!r} "
                             f"appears more than once in {list(self.choices)!r}")
        self.choices = list(self.choices)

    def values(self):
        return self.choices

    def index_of(self, value):
        for i, choice in enumerate(self.choices):
            if choice == value or (isinstance(choice, tuple) and isinstance(value, list) and list(choice) == value):
                return i
        raise ValueError(f"{value!r} is not one of the choices {self.choices!r}")

    def __repr__(self):
        return f"Categorical({self.choices!r})"


class SearchSpace:
    """A named set of dimensions: the single description every search method reads.

    Args:
        dimensions: a dict from hyperparameter name to :class:`Real`,
            :class:`Integer`, :class:`Categorical`, or a plain list/tuple (read
            as ``Categorical``).

    Raises:
        ValueError: naming the dimension, for an invalid dimension (low >= high,
            log with low <= 0, empty choices) or a value of unknown type.

    Example:
        >>> space = SearchSpace({"learning_rate": Real(1e-4, 1e-1, log=True),
        ...                      "units": Integer(16, 128), "activation": ["relu", "tanh"]})
        >>> params = space.sample(np.random.default_rng(0))
        >>> space.decode(space.encode(params)) == params
        True

    Introduced in 02_grid_search.ipynb.
    """

    def __init__(self, dimensions):
        if isinstance(dimensions, SearchSpace):
            dimensions = dimensions.dimensions
        if not isinstance(dimensions, dict) or not dimensions:
            raise ValueError(f"a search space must be a non-empty dict of dimensions; received {dimensions!r}")
        self.dimensions = {}
        for name, dim in dimensions.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"dimension names must be non-empty strings; received {name!r}")
            if name in RESERVED_NAMES:
                raise ValueError(f"dimension {name!r}: this name is reserved for a trials column; "
                                 f"choose another (reserved: {sorted(RESERVED_NAMES)})")
            if isinstance(dim, (list, tuple)):
                dim = Categorical(list(dim))
            if not isinstance(dim, Dimension):
                raise ValueError(f"dimension {name!r}: expected Real, Integer, Categorical or a list of choices; "
                                 f"received {type(dim).__name__}: {dim!r}")
            dim.check(name)
            self.dimensions[name] = dim

    @property
    def names(self):
        return list(self.dimensions)

    def __len__(self):
        return len(self.dimensions)

    def __repr__(self):
        inner = ", ".join(f"{k!r}: {v!r}" for k, v in self.dimensions.items())
        return f"SearchSpace({{{inner}}})"

    def sample(self, rng) -> dict:
        """One random point; ``rng`` is a ``numpy.random.Generator``."""
        return {name: dim.sample(rng) for name, dim in self.dimensions.items()}

    def grid(self) -> list:
        """Every point of the grid, in ``itertools.product`` order of the dimensions (at most a million)."""
        size = self.grid_size()
        if size > MAX_GRID_POINTS:
            sizes = ", ".join(f"{name}: {dim.grid_size():,}" for name, dim in self.dimensions.items())
            raise ValueError(f"the grid has {size:,} points ({sizes}), more than the "
                             f"{MAX_GRID_POINTS:,} grid search lists; give the large Integer or Real dimensions "
                             "num= (how many values the grid takes), or use random_search")
        names = self.names
        return [dict(zip(names, combo)) for combo in itertools.product(*(self.dimensions[n].grid() for n in names))]

    def grid_size(self) -> int:
        return math.prod(dim.grid_size() for dim in self.dimensions.values())

    # --- the unit cube, for GA / PSO / DE / CMA-ES / NSGA-II -----------------
    def encode(self, params: dict) -> np.ndarray:
        """Maps a params dict to a point of ``[0, 1]^d`` (one coordinate per dimension)."""
        return np.array([dim._to_unit(params[name]) for name, dim in self.dimensions.items()], dtype=float)

    def decode(self, u) -> dict:
        """Maps any point of ``R^d`` to params; coordinates are clipped into ``[0, 1]`` first."""
        u = np.asarray(u, dtype=float).ravel()
        if u.shape != (len(self),):
            raise ValueError(f"expected a vector of {len(self)} coordinates; received shape {u.shape}")
        return {name: dim._from_unit(x) for (name, dim), x in zip(self.dimensions.items(), u)}

    # --- bit strings, as in the DEAP lesson ----------------------------------
    def num_bits(self) -> int:
        """Total length of the binary encoding."""
        return sum(dim.num_bits() for dim in self.dimensions.values())

    def encode_bits(self, params: dict) -> np.ndarray:
        """Maps params to a 0/1 array: each dimension as an unsigned binary number, most significant bit first."""
        bits = []
        for name, dim in self.dimensions.items():
            k, n = dim.to_bits_index(params[name]), dim.num_bits()
            bits.extend((k >> (n - 1 - i)) & 1 for i in range(n))
        return np.array(bits, dtype=np.int8)

    def decode_bits(self, bits) -> dict:
        """The inverse of :meth:`encode_bits` (exact for Integer/Categorical, to 2**-bits for Real)."""
        bits = [int(b) for b in np.asarray(bits).ravel()]
        if len(bits) != self.num_bits():
            raise ValueError(f"expected {self.num_bits()} bits; received {len(bits)}")
        params, position = {}, 0
        for name, dim in self.dimensions.items():
            n = dim.num_bits()
            k = int("".join(str(b) for b in bits[position:position + n]), 2)
            params[name] = dim.from_bits_index(k)
            position += n
        return params


def as_space(space) -> SearchSpace:
    """A :class:`SearchSpace` from a space or a plain dict of dimensions."""
    return space if isinstance(space, SearchSpace) else SearchSpace(space)
