import gzip

import numpy as np
import pytest

import evolab
from evolab.data import DataNotFoundError


def fake_mnist(n_train=120, n_test=30):
    rng = np.random.default_rng(0)
    return {"x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            "y_train": rng.integers(0, 10, n_train).astype(np.uint8),
            "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            "y_test": rng.integers(0, 10, n_test).astype(np.uint8)}


def write_idx(path, array, compress):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def test_digits_splits_are_disjoint_stratified_and_normalized():
    data = evolab.data.load_digits()
    sizes = [len(s[0]) for s in (data.train, data.validation, data.test)]
    assert sum(sizes) == 1797 and sizes[1] == pytest.approx(0.2 * 1797, abs=2)
    assert data.train[0].shape[1:] == (64,) and data.input_shape == (64,) and data.num_classes == 10
    assert data.train[0].dtype == np.float32 and 0 <= data.train[0].min() and data.train[0].max() <= 1
    rows = {r.tobytes() for r in data.test[0]}
    assert not any(r.tobytes() in rows for r in data.validation[0][:50])  # test and validation do not overlap
    assert set(np.unique(data.validation[1])) == set(range(10))
    images = evolab.data.load_digits(flatten=False, normalize=False)
    assert images.train[0].shape[1:] == (8, 8, 1) and images.train[0].max() == 16
    again = evolab.data.load_digits()
    np.testing.assert_array_equal(again.train[0], data.train[0])


def test_digits_rejects_bad_fractions():
    with pytest.raises(ValueError, match="validation_fraction"):
        evolab.data.load_digits(validation_fraction=0)
    with pytest.raises(ValueError, match="leave some training data"):
        evolab.data.load_digits(validation_fraction=0.5, test_fraction=0.5)


def test_mnist_from_npz_in_data_dir(tmp_path):
    arrays = fake_mnist()
    np.savez_compressed(tmp_path / "mnist.npz", **arrays)
    data = evolab.data.load_mnist(data_dir=tmp_path, validation_size=20, download=False)
    assert len(data.train[0]) == 100 and len(data.validation[0]) == 20 and len(data.test[0]) == 30
    assert data.train[0].shape[1:] == (28, 28, 1) and data.train[0].dtype == np.float32
    assert data.source.endswith("mnist.npz")
    # every training image ends up in exactly one of train / validation
    seen = sorted(np.r_[data.train[1], data.validation[1]].tolist())
    assert seen == sorted(arrays["y_train"].tolist())
    flat = evolab.data.load_mnist(data_dir=tmp_path, validation_size=20, flatten=True, normalize=False,
                                  train_size=50, test_size=10, download=False)
    assert flat.train[0].shape == (50, 784) and flat.train[0].dtype == np.uint8 and len(flat.test[0]) == 10
    np.testing.assert_array_equal(flat.test[0], arrays["x_test"][:10].reshape(10, -1))


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_from_idx_files_via_environment(tmp_path, monkeypatch, compress):
    arrays = fake_mnist()
    names = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}
    for key, name in names.items():
        write_idx(tmp_path / name, arrays[key], compress)
    monkeypatch.setenv("EVOLAB_DATA_DIR", str(tmp_path))
    data = evolab.data.load_mnist(validation_size=20, normalize=False, download=False)
    np.testing.assert_array_equal(data.test[0][..., 0], arrays["x_test"])
    np.testing.assert_array_equal(data.test[1], arrays["y_test"])


def test_missing_data_error_lists_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("EVOLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(DataNotFoundError) as info:
        evolab.data.load_mnist(download=False)
    message = str(info.value)
    assert "EVOLAB_DATA_DIR" in message and str(tmp_path) in message and "Keras cache" in message
    assert "load_digits" in message
    with pytest.raises(DataNotFoundError, match="not a folder"):
        evolab.data.load_mnist(data_dir=tmp_path / "nope", download=False)


def test_bad_sizes_and_npz_keys(tmp_path):
    np.savez_compressed(tmp_path / "mnist.npz", **fake_mnist())
    with pytest.raises(ValueError, match="validation_size"):
        evolab.data.load_mnist(data_dir=tmp_path, validation_size=0, download=False)
    with pytest.raises(ValueError, match="train_size"):
        evolab.data.load_mnist(data_dir=tmp_path, validation_size=20, train_size=1000, download=False)
    other = tmp_path / "other"
    other.mkdir()
    np.savez_compressed(other / "mnist.npz", x_train=np.zeros((2, 28, 28)))
    with pytest.raises(evolab.data.DataNotFoundError, match="lacks the arrays"):  # named, and the next place tried
        evolab.data.load_mnist(data_dir=other, download=False)


def test_real_mnist_offline_copy(mnist_dir):
    data = evolab.data.load_mnist(data_dir=mnist_dir, flatten=True)
    assert (len(data.train[0]), len(data.validation[0]), len(data.test[0])) == (50_000, 10_000, 10_000)
    assert data.input_shape == (784,)
    counts = np.bincount(data.test[1], minlength=10)
    np.testing.assert_array_equal(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    same = evolab.data.load_mnist(data_dir=mnist_dir, flatten=True)
    np.testing.assert_array_equal(same.validation[1], data.validation[1])


def test_fashion_mnist_uses_the_same_lookup(tmp_path):
    sub = tmp_path / "fashion-mnist"
    sub.mkdir()
    np.savez_compressed(sub / "fashion_mnist.npz", **fake_mnist())
    data = evolab.data.load_fashion_mnist(data_dir=tmp_path, validation_size=20, download=False)
    assert data.name == "fashion_mnist" and len(data.train[0]) == 100
