"""The reliability review's probes D1-D20 (the data loaders) and C1-C20 (the ``evolab`` command), kept as tests.

Each row of the "Probe table" in ../shared/reviews/reliability.md is one test function here, named after its id.
The data probes build small, deliberately broken ``mnist.npz`` (or IDX) files in a temporary folder; the command-line
probes call ``evolab.cli.main([...])`` in this process and read what it prints and the status it returns (argparse's
usage errors leave through ``SystemExit(2)``). One probe (C3) starts a fresh Python, because it is about start-up.

``OUTCOMES`` gives, for every probe, the class the review found and the class it has now.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import evolab
from evolab import checkpoint, cli
from evolab.data import DataNotFoundError

OUTCOMES = {
    "D1": ("UNCLEAR", "CLEAR"), "D2": ("UNCLEAR", "CLEAR"), "D3": ("UNCLEAR", "CLEAR"), "D4": ("CLEAR", "CLEAR"),
    "D5": ("UNCLEAR", "CLEAR"), "D6": ("OK", "CLEAR"), "D7": ("SILENT", "OK"), "D8": ("UNCLEAR", "OK"),
    "D9": ("CLEAR", "CLEAR"), "D10": ("CLEAR", "CLEAR"), "D11": ("CLEAR", "CLEAR"), "D12": ("CLEAR", "CLEAR"),
    "D13": ("CLEAR", "CLEAR"), "D14": ("CLEAR", "CLEAR"), "D15": ("CLEAR", "CLEAR"), "D16": ("CLEAR", "CLEAR"),
    "D17": ("CLEAR", "CLEAR"), "D18": ("OK", "OK"), "D19": ("SILENT", "CLEAR"), "D20": ("UNCLEAR", "CLEAR"),
    "C1": ("CLEAR", "CLEAR"), "C2": ("CLEAR", "CLEAR"), "C3": ("CLEAR", "CLEAR"), "C4": ("CLEAR", "CLEAR"),
    "C5": ("CLEAR", "CLEAR"), "C6": ("CLEAR", "OK"), "C7": ("CLEAR", "OK"), "C8": ("OK", "OK"),
    "C9": ("CLEAR", "CLEAR"), "C10": ("CLEAR", "CLEAR"), "C11": ("CLEAR", "CLEAR"), "C12": ("SILENT", "CLEAR"),
    "C13": ("CLEAR", "CLEAR"), "C14": ("UNCLEAR", "CLEAR"), "C15": ("OK", "OK"), "C16": ("CLEAR", "CLEAR"),
    "C17": ("UNCLEAR", "CLEAR"), "C18": ("SILENT", "CLEAR"), "C19": ("CLEAR", "CLEAR"), "C20": ("CLEAR", "CLEAR"),
}


# -- helpers: a small fake MNIST, written as an npz or as the four IDX files ------------------------------------------

def fake_mnist(n_train=20, n_test=5):
    """Arrays shaped like MNIST's (28 x 28 uint8 images, uint8 labels 0..9), only fewer of them."""
    rng = np.random.default_rng(0)
    return {"x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            "y_train": (np.arange(n_train) % 10).astype(np.uint8),
            "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            "y_test": (np.arange(n_test) % 10).astype(np.uint8)}


def write_npz(folder, **changes):
    """``folder/mnist.npz`` from :func:`fake_mnist`, with some arrays replaced (or removed, given ``None``)."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {**fake_mnist(), **changes}
    np.savez(folder / "mnist.npz", **{key: value for key, value in arrays.items() if value is not None})
    return folder / "mnist.npz"


IDX_NAMES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


def write_idx_files(folder):
    """The four (uncompressed) IDX files of :func:`fake_mnist` in ``folder``."""
    for key, array in fake_mnist().items():
        header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
        (folder / IDX_NAMES[key]).write_bytes(header + array.tobytes())


@pytest.fixture
def no_data_elsewhere(tmp_path, monkeypatch):
    """Only the folders a test names hold data: no EVOLAB_DATA_DIR, an empty Keras cache of the test's own."""
    monkeypatch.delenv("EVOLAB_DATA_DIR", raising=False)
    cache = tmp_path / "keras-cache"
    monkeypatch.setattr(evolab.data, "_keras_cache_dirs", lambda: [cache])  # not ~/.keras nor /tmp/.keras
    return cache


def load(folder, **options):
    return evolab.data.load_mnist(data_dir=folder, download=False, **options)


# -- D1-D20: the data loaders -------------------------------------------------------------------------------------

def test_D1_random_bytes_npz_is_named_not_blamed_on_pickles(tmp_path, no_data_elsewhere):
    (tmp_path / "mnist.npz").write_bytes(np.random.default_rng(1).bytes(2000))
    with pytest.raises(DataNotFoundError, match=r"mnist\.npz is not a readable \.npz file .*not a zip archive") as info:
        load(tmp_path)
    assert str(tmp_path) in str(info.value) and "allow_pickle" not in str(info.value)


def test_D2_truncated_npz_is_named_as_cut_short(tmp_path, no_data_elsewhere):
    whole = write_npz(tmp_path).read_bytes()
    (tmp_path / "mnist.npz").write_bytes(whole[:len(whole) // 2])
    with pytest.raises(DataNotFoundError, match=r"mnist\.npz is not a readable \.npz file .*cut short") as info:
        load(tmp_path)
    assert str(tmp_path / "mnist.npz") in str(info.value)


def test_D3_empty_npz_is_named_as_empty(tmp_path, no_data_elsewhere):
    (tmp_path / "mnist.npz").write_bytes(b"")
    with pytest.raises(DataNotFoundError, match=r"mnist\.npz is not a readable \.npz file .*empty: 0 bytes"):
        load(tmp_path)


def test_D4_npz_missing_arrays_names_them(tmp_path, no_data_elsewhere):
    write_npz(tmp_path, y_train=None, x_test=None, y_test=None)
    with pytest.raises(DataNotFoundError, match=r"lacks the arrays \['y_train', 'x_test', 'y_test'\]; expected keys"):
        load(tmp_path)


def test_D5_more_images_than_labels_is_refused(tmp_path, no_data_elsewhere):
    arrays = fake_mnist(n_train=100)
    write_npz(tmp_path, x_train=arrays["x_train"], y_train=arrays["y_train"][:50])
    with pytest.raises(DataNotFoundError, match=r"y_train has shape \(50,\), expected \(100,\) \(one label per image\)"):
        load(tmp_path, validation_size=10)


def test_D6_images_that_are_not_28_by_28_are_refused(tmp_path, no_data_elsewhere):
    # the review saw them accepted as (10,) inputs; an "mnist.npz" of other images is now named as the wrong file
    write_npz(tmp_path, x_train=np.zeros((20, 10), np.uint8), x_test=np.zeros((5, 10), np.uint8))
    with pytest.raises(DataNotFoundError, match=r"x_train has shape \(20, 10\), expected \(examples, 28, 28\)"):
        load(tmp_path, validation_size=5)


@pytest.mark.parametrize("top", [1.0, 255.0], ids=["floats-in-0-1", "floats-in-0-255"])
def test_D7_float_images_already_in_the_unit_interval_are_not_divided_again(tmp_path, no_data_elsewhere, top):
    images = (np.random.default_rng(2).random((20, 28, 28)) * top).astype(np.float32)
    write_npz(tmp_path, x_train=images, x_test=images[:5])
    data = load(tmp_path, validation_size=5)
    pixels = np.concatenate([data.train[0], data.validation[0]]).ravel()
    np.testing.assert_allclose(np.sort(pixels), np.sort(images.ravel() / top), rtol=1e-6)  # in [0, 1] either way


def test_D8_a_truncated_npz_in_EVOLAB_DATA_DIR_is_skipped_for_the_keras_cache(tmp_path, no_data_elsewhere,
                                                                                monkeypatch):
    damaged = tmp_path / "evolab-data"
    whole = write_npz(damaged).read_bytes()
    (damaged / "mnist.npz").write_bytes(whole[:len(whole) // 2])
    monkeypatch.setenv("EVOLAB_DATA_DIR", str(damaged))
    with pytest.raises(DataNotFoundError, match=r"EVOLAB_DATA_DIR: .*evolab-data \(unusable: .*mnist\.npz is not a "
                                                r"readable \.npz file .*cut short"):
        evolab.data.load_mnist(download=False)  # nothing else anywhere: the damaged file is named in the list
    cached = write_npz(no_data_elsewhere)  # the Keras cache holds a good copy: that one is used
    data = evolab.data.load_mnist(download=False, validation_size=5)
    assert data.source == str(cached) and len(data.train[0]) == 15


def test_D9_a_data_dir_that_does_not_exist_is_named(tmp_path, no_data_elsewhere):
    with pytest.raises(DataNotFoundError, match=r"data_dir='.*nope' is not a folder"):
        load(tmp_path / "nope")


def test_D10_nothing_anywhere_lists_every_place_and_the_fixes(tmp_path, no_data_elsewhere):
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DataNotFoundError, match="Could not find the mnist data set") as info:
        load(tmp_path / "nothing")
    message = str(info.value)
    assert f"data_dir argument: {tmp_path / 'nothing'}" in message
    assert f"Keras cache: {no_data_elsewhere}" in message
    assert "EVOLAB_DATA_DIR" in message and "load_digits()" in message


def test_D11_idx_file_with_a_bad_magic_number_is_named(tmp_path, no_data_elsewhere):
    write_idx_files(tmp_path)
    images = tmp_path / IDX_NAMES["x_train"]
    images.write_bytes(b"\x01\x02\x03\x04" + images.read_bytes()[4:])
    with pytest.raises(DataNotFoundError, match=r"train-images-idx3-ubyte is not an unsigned-byte IDX file "
                                                r"\(bad magic number b'\\x01\\x02\\x03\\x04'\)"):
        load(tmp_path)


def test_D12_idx_file_shorter_than_its_header_says_is_named(tmp_path, no_data_elsewhere):
    write_idx_files(tmp_path)
    header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (100, 28, 28))
    (tmp_path / IDX_NAMES["x_train"]).write_bytes(header + bytes(1000))
    with pytest.raises(DataNotFoundError, match=r"train-images-idx3-ubyte: header says shape \[100, 28, 28\] but the "
                                                r"file holds 1000 values"):
        load(tmp_path)


def test_D13_validation_size_zero_is_refused(tmp_path, no_data_elsewhere):
    write_npz(tmp_path)
    with pytest.raises(ValueError, match=r"validation_size must be an integer in \[1, 19\]; received 0"):
        load(tmp_path, validation_size=0)


def test_D14_validation_size_of_every_training_image_is_refused(tmp_path, no_data_elsewhere):
    write_npz(tmp_path)  # 20 training images here, as 60,000 in MNIST: none would be left to train on
    with pytest.raises(ValueError, match=r"validation_size must be an integer in \[1, 19\]; received 20"):
        load(tmp_path, validation_size=20)


def test_D15_train_size_zero_is_refused(tmp_path, no_data_elsewhere):
    write_npz(tmp_path)
    with pytest.raises(ValueError, match=r"train_size must be an integer in \[1, 15\]; received 0"):
        load(tmp_path, validation_size=5, train_size=0)


def test_D16_digits_validation_fraction_zero_is_refused():
    with pytest.raises(ValueError, match="validation_fraction must be between 0 and 1; received 0"):
        evolab.data.load_digits(validation_fraction=0)


def test_D17_digits_fractions_leaving_no_training_data_are_refused():
    with pytest.raises(ValueError, match=r"must leave some training data; received 0\.5 \+ 0\.5"):
        evolab.data.load_digits(validation_fraction=0.5, test_fraction=0.5)


def test_D18_mnist_from_the_shared_data_folder(mnist_dir):
    data = evolab.data.load_mnist(data_dir=mnist_dir, train_size=1000)
    assert (len(data.train[0]), len(data.validation[0]), len(data.test[0])) == (1000, 10_000, 10_000)
    assert data.input_shape == (28, 28, 1) and data.num_classes == 10 and data.source.endswith("mnist.npz")
    assert data.train[0].dtype == np.float32 and data.train[0].min() == 0.0 and data.train[0].max() == 1.0
    assert set(np.unique(data.train[1])) == set(range(10))


def test_D19_uint8_label_255_is_refused_not_counted_as_zero_classes(tmp_path, no_data_elsewhere):
    write_npz(tmp_path, y_train=np.full(20, 255, np.uint8), y_test=np.full(5, 255, np.uint8))
    with pytest.raises(DataNotFoundError, match=r"y_train must hold integer labels 0\.\.9; found dtype uint8, "
                                                r"values 255\.\.255"):
        load(tmp_path, validation_size=5)


def test_D20_npz_holding_pickled_objects_is_named_and_not_unpickled(tmp_path, no_data_elsewhere):
    write_npz(tmp_path, x_train=np.array([{"image": i} for i in range(20)], dtype=object))
    with pytest.raises(DataNotFoundError, match=r"mnist\.npz is not a readable \.npz file .*pickled Python objects, "
                                                "which evolab never loads"):
        load(tmp_path, validation_size=5)


# -- C1-C20: the evolab command -------------------------------------------------------------------------------------

QUICK = ["--generations", "1", "--population-size", "4", "--batch-size", "64", "--no-progress"]


def evolab_command(capsys, *arguments):
    """Runs ``evolab ARGUMENTS`` in this process: ``(exit status, stdout, stderr)``."""
    try:
        status = cli.main(list(arguments))
    except SystemExit as stop:  # argparse's usage errors
        status = stop.code
    printed = capsys.readouterr()
    return status, printed.out, printed.err


def assert_usage_error(capsys, arguments, message):
    status, _, err = evolab_command(capsys, *arguments)
    assert status == 2 and "Traceback" not in err
    assert message in err, err


def saved_hyperparameters(out):
    return checkpoint.load(out / "checkpoint.pkl")["strategy"]["hyperparameters"]


def test_C1_no_subcommand_is_a_usage_error(capsys):
    assert_usage_error(capsys, [], "the following arguments are required: command")


def test_C2_unknown_strategy_is_a_usage_error_listing_the_choices(capsys, tmp_path):
    status, _, err = evolab_command(capsys, "neuroevolve", "--strategy", "bogus", "--out", str(tmp_path))
    assert status == 2 and "argument --strategy: invalid choice: 'bogus'" in err
    assert all(name in err for name in ("ga", "lowrank_es", "openai_es", "pgpe", "snes"))


def test_C3_population_size_zero_is_refused_in_one_line_before_tensorflow_loads(tmp_path):
    # start-up, so a fresh Python: the usage error must come before evolab imports Keras (seconds of TensorFlow)
    script = ("import sys\nfrom evolab import cli\ntry:\n    cli.main(['neuroevolve', '--population-size', '0'])\n"
              "except SystemExit as stop:\n    print('status', stop.code, 'keras loaded:', 'keras' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.stdout.strip() == "status 2 keras loaded: False", done.stdout + done.stderr
    assert "argument --population-size: expected an integer >= 2, received 0" in done.stderr
    assert "Traceback" not in done.stderr


def test_C4_negative_generations_is_a_usage_error(capsys):
    assert_usage_error(capsys, ["neuroevolve", "--generations", "-5"],
                       "argument --generations: expected an integer >= 1, received -5")


def test_C5_population_size_not_a_number_is_a_usage_error(capsys):
    assert_usage_error(capsys, ["neuroevolve", "--population-size", "abc"],
                       "argument --population-size: expected an integer >= 2, received 'abc'")


def test_C6_learning_rate_reaches_the_default_strategy_pgpe(capsys, tmp_path):
    status, out, _ = evolab_command(capsys, "neuroevolve", "--learning-rate", "0.01", "--out", str(tmp_path), *QUICK)
    assert status == 0 and out.startswith("pgpe on digits")
    assert saved_hyperparameters(tmp_path)["learning_rate"] == "0.01"


def test_C7_sigma_reaches_snes(capsys, tmp_path):
    status, out, _ = evolab_command(capsys, "neuroevolve", "--strategy", "snes", "--sigma", "0.1", "--out",
                                    str(tmp_path), *QUICK)
    assert status == 0 and out.startswith("snes on digits")
    assert saved_hyperparameters(tmp_path)["sigma"] == "0.1"


def test_C8_sigma_with_openai_es_runs_and_writes_every_output(capsys, tmp_path):
    status, out, _ = evolab_command(capsys, "neuroevolve", "--strategy", "openai_es", "--sigma", "0.1", "--out",
                                    str(tmp_path), *QUICK)
    assert status == 0 and f"Outputs written to {tmp_path}/" in out
    for name in ("history.csv", "history.json", "curves.png", "metrics.json", "checkpoint.pkl"):
        assert (tmp_path / name).stat().st_size > 0, name
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["strategy"] == "openai_es" and metrics["generations_completed"] == 1
    assert saved_hyperparameters(tmp_path)["sigma"] == "0.1"


@pytest.mark.parametrize("size, message", [
    ("0", "argument --batch-size: expected an integer >= 1, received 0"),
    ("5000", "evolab: error: batch_size must be None or an integer in [1, 1077]; received 5000"),  # > digits' train
])
def test_C9_batch_size_out_of_range_is_refused_in_one_line(capsys, tmp_path, size, message):
    assert_usage_error(capsys, ["neuroevolve", "--batch-size", size, "--out", str(tmp_path), "--generations", "1",
                                "--no-progress"], message)


def test_C10_mnist_from_a_missing_data_dir_is_one_line(capsys, tmp_path):
    assert_usage_error(capsys, ["neuroevolve", "--dataset", "mnist", "--data-dir", str(tmp_path / "nonexistent"),
                                "--out", str(tmp_path / "run"), *QUICK],
                       f"evolab: error: data_dir='{tmp_path / 'nonexistent'}' is not a folder.")
    assert not (tmp_path / "run").exists()  # refused before any output folder is made


def test_C11_hidden_units_zero_is_a_usage_error(capsys):
    assert_usage_error(capsys, ["neuroevolve", "--hidden-units", "0"],
                       "argument --hidden-units: expected an integer >= 1, received 0")


def test_C12_train_size_with_digits_is_warned_about(capsys, tmp_path):
    status, _, err = evolab_command(capsys, "neuroevolve", "--train-size", "50", "--out", str(tmp_path), *QUICK)
    assert status == 0
    assert "evolab: warning: --train-size applies to mnist and fashion_mnist; digits uses all its images" in err


def test_C13_checkpoint_every_zero_is_a_usage_error(capsys):
    assert_usage_error(capsys, ["neuroevolve", "--checkpoint-every", "0"],
                       "argument --checkpoint-every: expected an integer >= 1, received 0")


def test_C14_resume_from_a_corrupt_checkpoint_names_it_and_keeps_it(capsys, tmp_path):
    garbage = b"\x80\x05garbage"
    (tmp_path / "checkpoint.pkl").write_bytes(garbage)
    assert_usage_error(capsys, ["neuroevolve", "--resume", "--out", str(tmp_path), *QUICK],
                       f"evolab: error: checkpoint '{tmp_path / 'checkpoint.pkl'}' is damaged or not an evolab "
                       "checkpoint (UnpicklingError: pickle data was truncated); delete it, or pass another path.")
    assert (tmp_path / "checkpoint.pkl").read_bytes() == garbage


def test_C15_resume_with_no_checkpoint_says_so_and_starts_a_new_run(capsys, tmp_path):
    status, out, err = evolab_command(capsys, "neuroevolve", "--resume", "--out", str(tmp_path), *QUICK)
    assert status == 0 and out.startswith("pgpe on digits")
    assert f"evolab: note: --resume found no {tmp_path / 'checkpoint.pkl'}; starting a new run" in err
    assert checkpoint.load(tmp_path / "checkpoint.pkl")["generation"] == 1


def test_C16_negative_sigma_is_refused_in_one_line(capsys, tmp_path):
    assert_usage_error(capsys, ["neuroevolve", "--strategy", "openai_es", "--sigma", "-1", "--out", str(tmp_path),
                                *QUICK],
                       "evolab: error: Expected sigma to be a finite number > 0, received -1.0.")


def test_C17_out_naming_an_existing_file_is_refused_and_the_file_kept(capsys, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    assert_usage_error(capsys, ["neuroevolve", "--out", str(notes), *QUICK],
                       f"evolab: error: out='{notes}' is a file; expected a folder")
    assert notes.read_text() == "my notes"


def test_C18_hidden_units_with_the_cnn_is_warned_about(capsys, tmp_path):
    status, _, err = evolab_command(capsys, "neuroevolve", "--model", "cnn", "--hidden-units", "64", "--out",
                                    str(tmp_path), *QUICK)
    assert status == 0
    assert "evolab: warning: --hidden-units applies to --model mlp; the cnn keeps its layers" in err
    cnn = evolab.models.build("cnn", (8, 8, 1), 10)  # the digits cnn as it is built without --hidden-units
    assert json.loads((tmp_path / "metrics.json").read_text())["num_params"] == cnn.count_params()


def test_C19_mnist_with_train_size_zero_is_a_usage_error(capsys):
    assert_usage_error(capsys, ["neuroevolve", "--dataset", "mnist", "--train-size", "0"],
                       "argument --train-size: expected an integer >= 1, received 0")


def test_C20_odd_population_for_openai_es_is_refused_in_one_line(capsys, tmp_path):
    assert_usage_error(capsys, ["neuroevolve", "--strategy", "openai_es", "--population-size", "7", "--generations",
                                "1", "--no-progress", "--out", str(tmp_path)],
                       "population_size must be even; received 7.")
