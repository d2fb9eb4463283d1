"""Shared test set-up: quiet TensorFlow, a fixed seed per test, MNIST when it is on disk."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

import evolab  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def mnist_folder():
    """The folder holding an offline MNIST copy, or None."""
    for candidate in (os.environ.get("EVOLAB_DATA_DIR"), REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "mnist.npz").is_file():
            return Path(candidate)
    return None


@pytest.fixture
def mnist_dir():
    folder = mnist_folder()
    if folder is None:
        pytest.skip("MNIST is not available offline: set EVOLAB_DATA_DIR to a folder holding mnist.npz")
    return folder


@pytest.fixture(autouse=True)
def _seeded():
    evolab.set_seed(0)
    yield
