import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import evolab
from evolab.callbacks import Callback, EarlyStopping, LambdaCallback


@pytest.fixture(scope="module")
def digits():
    return evolab.data.load_digits()


def small_run(digits, **kwargs):
    evolab.set_seed(0)  # the model's initial weights are the search's starting point
    model = evolab.models.mlp(digits.input_shape, hidden_units=(16,))
    options = dict(strategy="openai_es", population_size=16, num_generations=6, batch_size=128, seed=1,
                   progress_bar=False)
    options.update(kwargs)
    return model, evolab.neuroevolve(model, digits.train, digits.validation, digits.test, **options)


def test_history_result_and_model_holds_best(digits):
    model, result = small_run(digits)
    history = result.history
    assert list(history.columns) == evolab.neuro.HISTORY_COLUMNS and len(history) == 6
    assert (history["fitness_max"] >= history["fitness_mean"]).all()
    assert (history["fitness_mean"] >= history["fitness_min"]).all()
    assert history["wall_time"].is_monotonic_increasing and (history["evaluations_per_second"] > 0).all()
    assert result.best_val_accuracy == pytest.approx(history["val_accuracy"].max())
    np.testing.assert_array_equal(evolab.get_parameters(model), result.best_parameters)
    assert result.test_accuracy == pytest.approx(
        evolab.evaluate_parameters(model, result.best_parameters, *digits.test))
    assert result.stopped == "completed" and result.num_generations == 6


@pytest.mark.parametrize("strategy", ["ga", "openai_es", "pgpe", "snes"])
def test_each_strategy_learns_digits(digits, strategy):
    model = evolab.models.mlp(digits.input_shape)
    result = evolab.neuroevolve(model, digits.train, digits.validation, strategy=strategy, population_size=32,
                                num_generations=150, batch_size=256, seed=0, progress_bar=False)
    first = result.history["val_accuracy"].iloc[0]
    assert first < 0.6
    # GA mutates a few genes at a time and needs many more generations than the ES family (see docs/results.md)
    assert result.best_val_accuracy > (first + 0.1 if strategy == "ga" else 0.8), result.history.tail()


def test_same_seed_same_run(digits):
    _, first = small_run(digits)
    _, second = small_run(digits)
    np.testing.assert_array_equal(first.best_parameters, second.best_parameters)
    _, third = small_run(digits, seed=2)
    assert not np.array_equal(first.best_parameters, third.best_parameters)


def test_callbacks_see_every_generation_and_can_stop(digits):
    seen, begun, ended = [], [], []
    recorder = LambdaCallback(on_run_begin=begun.append, on_step_end=lambda step, logs: seen.append((step, logs)),
                              on_run_end=ended.append)

    class StopAtThree(Callback):
        def on_step_end(self, step, logs):
            if step == 2:
                self.request_stop()

    _, result = small_run(digits, callbacks=[recorder, StopAtThree()])
    assert begun[0]["kind"] == "neuroevolution" and begun[0]["total_steps"] == 6
    assert [step for step, _ in seen] == [0, 1, 2]
    assert set(evolab.neuro.HISTORY_COLUMNS) <= set(seen[0][1])
    assert result.stopped == "callback" and len(result.history) == 3 and ended[0]["stopped"] == "callback"


def test_early_stopping_stops_a_stalled_run(digits):
    stopper = EarlyStopping(monitor="val_accuracy", patience=2, min_delta=1.0)  # nothing improves by 1.0
    _, result = small_run(digits, callbacks=[stopper], num_generations=20)
    assert result.stopped == "callback" and len(result.history) == 4 and stopper.stopped_step == 3


def test_keyboard_interrupt_returns_best_so_far(digits):
    def interrupt(step, logs):
        if step == 3:
            raise KeyboardInterrupt

    model, result = small_run(digits, callbacks=[LambdaCallback(on_step_end=interrupt)], num_generations=50)
    assert result.stopped == "interrupted" and len(result.history) == 4
    np.testing.assert_array_equal(evolab.get_parameters(model), result.best_parameters)


def test_checkpoint_resume_in_process_matches_uninterrupted(digits, tmp_path):
    _, full = small_run(digits, num_generations=8, strategy="pgpe")
    path = tmp_path / "run.pkl"
    _, part = small_run(digits, num_generations=5, strategy="pgpe", checkpoint=path, checkpoint_every=2)
    assert path.exists() and part.num_generations == 5
    _, resumed = small_run(digits, num_generations=8, strategy="pgpe", checkpoint=path, resume=True)
    np.testing.assert_array_equal(resumed.best_parameters, full.best_parameters)
    assert len(resumed.history) == 8
    np.testing.assert_allclose(resumed.history["fitness_max"], full.history["fitness_max"])
    with pytest.raises(ValueError, match="different set-up"):
        small_run(digits, num_generations=8, strategy="pgpe", checkpoint=path, resume=True, population_size=8)


SCRIPT = textwrap.dedent("""
    import sys, numpy as np, evolab
    from evolab.callbacks import LambdaCallback
    out, generations, announce = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "announce"
    evolab.set_seed(0)
    data = evolab.data.load_digits()
    model = evolab.models.mlp(data.input_shape, hidden_units=(16,))
    def tell(step, logs):
        if announce:
            print("generation", step + 1, flush=True)
    result = evolab.neuroevolve(model, data.train, data.validation, strategy="openai_es", population_size=16,
                                num_generations=generations, batch_size=128, seed=3, checkpoint=out + "/ckpt.pkl",
                                checkpoint_every=5, resume=True, progress_bar=False,
                                callbacks=[LambdaCallback(on_step_end=tell)])
    np.save(out + "/best.npy", result.best_parameters)
""")


def test_sigkill_then_resume_ends_like_an_uninterrupted_run(tmp_path):
    """A run killed with SIGKILL and resumed from its checkpoint ends with the same parameters."""
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    reference.mkdir(), killed.mkdir()
    subprocess.run([sys.executable, str(script), str(reference), "150", "quiet"], check=True, env=env, timeout=300)

    process = subprocess.Popen([sys.executable, str(script), str(killed), "150", "announce"], stdout=subprocess.PIPE,
                               text=True, env=env)
    deadline = time.time() + 240
    for line in process.stdout:
        if line.startswith("generation") and int(line.split()[1]) >= 12 or time.time() > deadline:
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert (killed / "ckpt.pkl").exists() and not (killed / "best.npy").exists()
    subprocess.run([sys.executable, str(script), str(killed), "150", "quiet"], check=True, env=env, timeout=300)
    np.testing.assert_array_equal(np.load(killed / "best.npy"), np.load(reference / "best.npy"))


def test_bad_arguments(digits):
    model = evolab.models.mlp(digits.input_shape)
    run = evolab.neuroevolve
    with pytest.raises(ValueError, match="population_size"):
        run(model, digits.train, digits.validation, population_size=1)
    with pytest.raises(ValueError, match=r"train must be an \(x, y\) pair"):
        run(model, digits.train[0], digits.validation)
    with pytest.raises(ValueError, match="same, non-zero number"):
        run(model, (digits.train[0], digits.train[1][:5]), digits.validation)
    with pytest.raises(ValueError, match="resume=True needs checkpoint"):
        run(model, digits.train, digits.validation, resume=True)
    with pytest.raises(ValueError, match="ga"):
        run(model, digits.train, digits.validation, strategy="hill_climbing")
