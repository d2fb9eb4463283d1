import random

import keras
import numpy as np
import pytest

import evolab


def test_set_seed_makes_python_numpy_and_backend_repeat():
    def draw():
        return random.random(), np.random.rand(), keras.ops.convert_to_numpy(keras.random.normal((3,)))

    evolab.set_seed(123)
    first = draw()
    evolab.set_seed(123)
    second = draw()
    assert first[0] == second[0] and first[1] == second[1]
    np.testing.assert_array_equal(first[2], second[2])
    evolab.set_seed(124)
    assert draw()[1] != first[1]


@pytest.mark.parametrize("bad", [-1, 1.5, "3", None, True])
def test_set_seed_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="non-negative integer"):
        evolab.set_seed(bad)


@pytest.mark.parametrize("value,expected", [("1", True), ("true", True), ("YES", True), ("0", False), ("", False),
                                            ("off", False)])
def test_quick_mode_reads_environment(monkeypatch, value, expected):
    monkeypatch.setenv("EVOLAB_QUICK", value)
    assert evolab.quick_mode() is expected
    assert evolab.budget(100, 5) == (5 if expected else 100)


def test_quick_mode_unset_is_off_and_typo_is_an_error(monkeypatch):
    monkeypatch.delenv("EVOLAB_QUICK", raising=False)
    assert evolab.quick_mode() is False
    monkeypatch.setenv("EVOLAB_QUICK", "quick")
    with pytest.raises(ValueError, match="EVOLAB_QUICK"):
        evolab.quick_mode()


def test_in_colab_follows_sys_modules(monkeypatch):
    import sys

    assert evolab.in_colab() is False
    monkeypatch.setitem(sys.modules, "google.colab", object())
    assert evolab.in_colab() is True


def test_environment_report_is_one_line_with_versions(monkeypatch):
    monkeypatch.setenv("EVOLAB_QUICK", "1")
    report = evolab.environment_report()
    assert "\n" not in report
    assert f"Keras {keras.__version__}" in report
    assert keras.backend.backend() in report
    assert "quick mode on" in report
    assert evolab.__version__ in report


def test_import_is_lazy_and_every_exported_name_resolves():
    import subprocess
    import sys

    code = ("import sys, evolab; assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules; "
            "import evolab.parallel; assert 'tensorflow' not in sys.modules, 'parallel pulled in TensorFlow'; "
            "print('lazy ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "lazy ok" in done.stdout, done.stderr[-2000:]
    for name in evolab.__all__:
        assert getattr(evolab, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        evolab.nonsense  # noqa: B018
