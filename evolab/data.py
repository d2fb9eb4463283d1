"""Data sets with a train / validation / test split, offline-friendly.

* :func:`load_digits`: scikit-learn's bundled 8x8 digits (1,797 images). Ships
  inside scikit-learn, so it runs anywhere with no download: evolab's default.
* :func:`load_mnist` and :func:`load_fashion_mnist`: 28x28 images. Looked up in
  ``data_dir``, then ``$EVOLAB_DATA_DIR``, then the Keras cache, then downloaded
  with ``keras.datasets``.

Selection (hyperparameters, the best individual) uses ``validation``; the test
set is touched once, at the end.

Introduced in 00_welcome.ipynb.
"""

from __future__ import annotations

import gzip
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Dataset", "load_digits", "load_mnist", "load_fashion_mnist", "DataNotFoundError"]

_IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


class DataNotFoundError(FileNotFoundError):
    """Raised when a data set is neither on disk nor downloadable."""


@dataclass
class Dataset:
    """Three ``(x, y)`` pairs plus what a model builder needs to know.

    Attributes:
        train, validation, test: ``(x, y)`` tuples of NumPy arrays.
        name: e.g. ``"mnist"``.
        num_classes: number of labels.
        input_shape: the shape of one example (what ``keras.Input`` wants).
        source: where the data came from (a path or ``"download"``).
    """

    train: tuple
    validation: tuple
    test: tuple
    name: str
    num_classes: int
    input_shape: tuple
    source: str = ""

    def __repr__(self):
        sizes = ", ".join(f"{k}={len(getattr(self, k)[0])}" for k in ("train", "validation", "test"))
        # the file's name only: a notebook's stored output should not show the folders of the machine it ran on
        source = os.path.basename(self.source) if isinstance(self.source, str) and os.sep in self.source \
            else self.source
        return f"Dataset({self.name!r}, {sizes}, input_shape={self.input_shape}, source={source!r})"


def _check_size(name, value, available):
    if value is None:
        return available
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 < value <= available:
        raise ValueError(f"{name} must be an integer in [1, {available}]; received {value!r}")
    return int(value)


def _prepare(x, y, flatten, normalize, scale):
    x = np.asarray(x)
    if normalize:  # integer pixels (0..255) are scaled; float images already within [0, 1] are kept as they are
        already = x.dtype.kind == "f" and x.size and 0.0 <= float(x.min()) and float(x.max()) <= 1.0
        x = x.astype(np.float32) if already else x.astype(np.float32) / np.float32(scale)
    if flatten:
        x = x.reshape(len(x), -1)
    elif x.ndim == 3:  # (n, height, width) -> add the channel axis Conv2D expects
        x = x[..., None]
    return x, np.asarray(y).astype(np.int64)


def _split(name, x_train, y_train, x_test, y_test, *, validation_size, train_size, test_size, seed,
           flatten, normalize, scale, source):
    validation_size = _check_size("validation_size", validation_size, len(x_train) - 1)
    order = np.random.default_rng(seed).permutation(len(x_train))
    val_idx, train_idx = order[:validation_size], order[validation_size:]
    train_idx = train_idx[:_check_size("train_size", train_size, len(train_idx))]
    test_idx = np.arange(_check_size("test_size", test_size, len(x_test)))
    splits = [_prepare(x[idx], y[idx], flatten, normalize, scale)
              for x, y, idx in ((x_train, y_train, train_idx), (x_train, y_train, val_idx), (x_test, y_test, test_idx))]
    num_classes = int(max(int(y_train.max()), int(y_test.max())) + 1)  # int() first: uint8 255 + 1 is not 0
    return Dataset(*splits, name=name, num_classes=num_classes, input_shape=tuple(splits[0][0].shape[1:]),
                   source=source)


def load_digits(*, validation_fraction=0.2, test_fraction=0.2, flatten=True, normalize=True, seed=0) -> Dataset:
    """scikit-learn's 8x8 handwritten digits, split three ways (no download needed).

    Args:
        validation_fraction: share of all 1,797 images kept for validation (default 0.2).
        test_fraction: share kept for the final test (default 0.2).
        flatten: ``True`` gives ``(n, 64)`` vectors, ``False`` gives ``(n, 8, 8, 1)`` images.
        normalize: scale pixels from 0..16 to [0, 1] as float32.
        seed: the seed of the stratified split.

    Returns:
        A :class:`Dataset`.

    Example:
        >>> data = evolab.data.load_digits()
        >>> data.train[0].shape
        (1077, 64)
    """
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    for label, fraction in (("validation_fraction", validation_fraction), ("test_fraction", test_fraction)):
        if not 0 < fraction < 1:
            raise ValueError(f"{label} must be between 0 and 1; received {fraction!r}")
    if validation_fraction + test_fraction >= 1:
        raise ValueError("validation_fraction + test_fraction must leave some training data; "
                         f"received {validation_fraction} + {test_fraction}")
    bunch = sk_load_digits()
    x, y = bunch.images, bunch.target
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=validation_fraction / (1 - test_fraction), random_state=seed, stratify=y_rest)
    splits = [_prepare(a, b, flatten, normalize, 16.0) for a, b in ((x_train, y_train), (x_val, y_val), (x_test, y_test))]
    return Dataset(*splits, name="digits", num_classes=10, input_shape=tuple(splits[0][0].shape[1:]),
                   source="scikit-learn (bundled)")


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number {data[:4]!r}).")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says shape {dims} but the file holds {array.size} values.")
    return array.reshape(dims)


def _find_idx(folder: Path, stem: str):
    for candidate in (folder / stem, folder / (stem + ".gz"), folder / stem.replace("-idx", ".idx"),
                      folder / (stem.replace("-idx", ".idx") + ".gz")):
        if candidate.is_file():
            return candidate
    return None


class _UnusableFile(Exception):
    """A data file that is there but cannot be used (named, with the reason); the loader tries the next place."""


def _checked_arrays(arrays, source):
    """``(x_train, y_train, x_test, y_test)`` of 28 x 28 images with labels 0..9, or _UnusableFile saying why."""
    x_train, y_train, x_test, y_test = (np.asarray(a) for a in arrays)
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) == 0:
            raise _UnusableFile(f"{source}: x_{split} has shape {x.shape}, expected (examples, 28, 28)")
        if y.shape != (len(x),):
            raise _UnusableFile(f"{source}: y_{split} has shape {y.shape}, expected ({len(x)},) (one label per image)")
        if y.dtype.kind not in "iu" or y.min() < 0 or y.max() > 9:
            raise _UnusableFile(f"{source}: y_{split} must hold integer labels 0..9; found dtype {y.dtype}, "
                                f"values {y.min()}..{y.max()}")
    return x_train, y_train, x_test, y_test


def _npz_problem(path: Path, error: Exception) -> str:
    """What is wrong with an npz file ``np.load`` refused, in words (NumPy blames pickles for any random bytes)."""
    if path.stat().st_size == 0:
        return "the file is empty: 0 bytes"
    if not zipfile.is_zipfile(path):
        return "not a zip archive: cut short by an interrupted download or copy, or not an npz file at all"
    if "pickle" in str(error):
        return "it holds pickled Python objects, which evolab never loads; save numeric arrays"
    return f"{type(error).__name__}: {error}"


def _load_from_folder(folder: Path, name: str):
    """Reads ``{name}.npz`` or the four IDX files from ``folder`` (or ``folder/name``); None if absent.

    Raises:
        _UnusableFile: a file is there but damaged (truncated, not an npz, pickled objects, wrong shapes).
    """
    for base in (folder, folder / name, folder / name.replace("_", "-")):
        npz = base / f"{name}.npz"
        if npz.is_file():
            try:
                with np.load(npz, allow_pickle=False) as f:
                    missing = [k for k in _IDX_FILES if k not in f.files]
                    if missing:
                        raise _UnusableFile(f"{npz} lacks the arrays {missing}; expected keys {list(_IDX_FILES)}")
                    arrays = tuple(f[k] for k in _IDX_FILES)
            except _UnusableFile:
                raise
            except Exception as error:  # empty, truncated or random bytes, a zip without arrays, pickled objects
                problem = _npz_problem(npz, error)
                raise _UnusableFile(f"{npz} is not a readable .npz file of arrays ({problem})") from None
            return _checked_arrays(arrays, str(npz)), str(npz)
        found = {k: _find_idx(base, stem) for k, stem in _IDX_FILES.items()}
        if all(found.values()):
            try:
                arrays = tuple(_read_idx(found[k]) for k in _IDX_FILES)
            except Exception as error:  # a truncated gzip, a bad header
                raise _UnusableFile(f"the IDX files in {base} cannot be read ({type(error).__name__}: {error})") from None
            return _checked_arrays(arrays, str(base)), str(base)
    return None


def _keras_cache_dirs():
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return [Path(home) / "datasets", Path("/tmp/.keras/datasets")]


def _load_arrays(name: str, data_dir, download: bool):
    looked = []
    folders = []
    if data_dir is not None:
        folders.append(("data_dir argument", Path(data_dir)))
    if os.environ.get("EVOLAB_DATA_DIR"):
        folders.append(("EVOLAB_DATA_DIR", Path(os.environ["EVOLAB_DATA_DIR"])))
    folders += [("Keras cache", p) for p in _keras_cache_dirs()]
    for label, folder in folders:
        looked.append(f"{label}: {folder}")
        if folder.is_dir():
            try:
                found = _load_from_folder(folder, name)
            except _UnusableFile as problem:  # say so, and go on to the next place (not past the caller's own)
                if label == "data_dir argument":
                    raise DataNotFoundError(f"data_dir={str(data_dir)!r}: {problem}.") from None
                looked[-1] += f" (unusable: {problem})"
                continue
            if found is not None:
                return found
        elif label == "data_dir argument":
            raise DataNotFoundError(f"data_dir={str(data_dir)!r} is not a folder.")
    if download:
        import keras

        loader = {"mnist": keras.datasets.mnist, "fashion_mnist": keras.datasets.fashion_mnist}[name]
        try:
            (x_train, y_train), (x_test, y_test) = loader.load_data()
            return (x_train, y_train, x_test, y_test), "download"
        except Exception as exc:  # offline, proxy, bad checksum...
            looked.append(f"download with keras.datasets.{name}.load_data(): failed ({type(exc).__name__}: {exc})")
    raise DataNotFoundError(
        f"Could not find the {name} data set. Looked in:\n  - " + "\n  - ".join(looked) +
        f"\nFix: connect to the internet (Keras downloads it), or put {name}.npz (keys x_train, y_train, x_test, "
        "y_test) or the four IDX files (train-images-idx3-ubyte[.gz], ...) in a folder and pass "
        "data_dir=... or set EVOLAB_DATA_DIR. For a lesson that must run offline, evolab.data.load_digits() "
        "needs no download."
    )


def _load_28x28(name, data_dir, validation_size, train_size, test_size, flatten, normalize, seed, download):
    (x_train, y_train, x_test, y_test), source = _load_arrays(name, data_dir, download)
    return _split(name, x_train, y_train, x_test, y_test, validation_size=validation_size, train_size=train_size,
                  test_size=test_size, seed=seed, flatten=flatten, normalize=normalize, scale=255.0, source=source)


def load_mnist(*, data_dir=None, validation_size=10_000, train_size=None, test_size=None, flatten=False,
               normalize=True, seed=0, download=True) -> Dataset:
    """MNIST digits: 60,000 training images split into train and validation, plus the 10,000 test images.

    Args:
        data_dir: a folder holding ``mnist.npz`` or the four IDX files
            (gzipped or not); looked at first.
        validation_size: images carved (with ``seed``) from the 60,000 for validation.
        train_size: keep only this many training images (quick mode); ``None`` keeps all.
        test_size: keep only the first this-many test images; ``None`` keeps all 10,000.
        flatten: ``True`` gives ``(n, 784)`` vectors, ``False`` ``(n, 28, 28, 1)`` images.
        normalize: scale pixels to [0, 1] as float32 (``False`` keeps ``uint8``).
        seed: the seed of the validation split.
        download: allow ``keras.datasets.mnist.load_data()`` as the last resort.

    Returns:
        A :class:`Dataset`.

    Raises:
        DataNotFoundError: nothing found and no download possible; the message
            lists every place looked and how to fix it.

    Example:
        >>> data = evolab.data.load_mnist(flatten=True, train_size=5_000)
        >>> data.train[0].shape, data.validation[0].shape
        ((5000, 784), (10000, 784))
    """
    return _load_28x28("mnist", data_dir, validation_size, train_size, test_size, flatten, normalize, seed, download)


def load_fashion_mnist(*, data_dir=None, validation_size=10_000, train_size=None, test_size=None, flatten=False,
                       normalize=True, seed=0, download=True) -> Dataset:
    """Fashion-MNIST (Zalando's clothing images), with exactly the interface of :func:`load_mnist`.

    Looks for ``fashion_mnist.npz`` or the IDX files (also in a ``fashion-mnist``
    sub-folder, as the Keras cache keeps them) before downloading.
    """
    return _load_28x28("fashion_mnist", data_dir, validation_size, train_size, test_size, flatten, normalize, seed,
                       download)
