"""One checkpointed run, started again and again by tests/test_kill_resume.py, which kills it on the way.

    python tests/kill_resume_job.py JOB OUT_DIR

runs JOB with its checkpoint in OUT_DIR (``resume=True``: a start after a
kill continues the run) and, when the run finishes, writes what it found
to OUT_DIR/result.json. It prints ``step`` after every trial or generation
and ``write`` at the moment each checkpoint file is being made durable
(``fsync`` is slowed down here, so that a signal can land inside the write).
A run stopped by SIGINT (the notebook's Stop button) exits with status 130.
"""

import json
import os
import sys
import time
import zlib

import evolab.checkpoint
from evolab.callbacks import LambdaCallback


class _SlowFsync:
    """``os`` as evolab.checkpoint sees it, with a slow, announced ``fsync``: the window a signal should hit."""

    def __getattr__(self, name):
        return getattr(os, name)

    @staticmethod
    def fsync(descriptor):
        print("write", flush=True)
        time.sleep(0.15)
        os.fsync(descriptor)


evolab.checkpoint.os = _SlowFsync()
STEP = LambdaCallback(on_step_end=lambda step, logs: print("step", flush=True))


def score(params):
    """A deterministic, bumpy objective of any params (its value depends on every one)."""
    time.sleep(0.01)
    return (zlib.crc32(json.dumps(params, sort_keys=True, default=str).encode()) % 10_000) / 10_000


def searches(checkpoint):
    from evolab import search as es

    space = {"x": es.Real(-3, 3), "k": es.Integer(1, 8), "act": es.Categorical(["relu", "tanh"])}
    common = dict(n_trials=32, seed=5, callbacks=[STEP])
    return {
        "genetic": lambda: es.genetic_search(score, space, population_size=4, checkpoint=checkpoint, resume=True,
                                             **common),
        "genetic_binary": lambda: es.genetic_search(score, space, population_size=4, encoding="binary",
                                                    checkpoint=checkpoint, resume=True, **common),
        "pso": lambda: es.pso_search(score, space, population_size=4, checkpoint=checkpoint, resume=True, **common),
        "de": lambda: es.de_search(score, space, population_size=4, checkpoint=checkpoint, resume=True, **common),
        "cmaes": lambda: es.cmaes_search(score, {"x": es.Real(-3, 3), "y": es.Real(-1, 1)}, population_size=4,
                                         checkpoint=checkpoint, resume=True, **common),
        "nsga2": lambda: es.nsga2_search(lambda p: (score(p), p["x"]), space, population_size=4,
                                         checkpoint=checkpoint, resume=True, **common),
        "architecture": lambda: es.architecture_search(score, population_size=4, checkpoint=checkpoint, resume=True,
                                                       **common),
        "bayesian": lambda: es.bayesian_search(score, space, storage=f"sqlite:///{checkpoint}.db",
                                               study_name="killed", n_startup_trials=4, **common),
    }


def neuroevolve(strategy, checkpoint):
    import evolab

    evolab.set_seed(0)
    data = evolab.data.load_digits()
    model = evolab.models.mlp(data.input_shape, hidden_units=(8,))
    return evolab.neuroevolve(model, data.train, data.validation, strategy=strategy, population_size=16,
                              num_generations=24, batch_size=64, seed=3, checkpoint=checkpoint, checkpoint_every=3,
                              resume=True, progress_bar=False, callbacks=[STEP])


def main(job, out):
    checkpoint = os.path.join(out, "checkpoint.pkl")
    if job.startswith("neuroevolve_"):
        result = neuroevolve(job[len("neuroevolve_"):], checkpoint)
        if result.stopped == "interrupted":
            sys.exit(130)
        found = {"best_parameters": result.best_parameters.tolist(),
                 "fitness_max": result.history["fitness_max"].tolist()}
    else:
        result = searches(checkpoint)[job]()
        if result.interrupted:
            sys.exit(130)
        trials = result.trials
        columns = [c for c in trials.columns if c not in ("duration", "start", "end", "elapsed", "worker")]
        found = {"trials": json.loads(trials[columns].to_json(orient="records")), "best_params": getattr(result, "best_params", None)}
    with open(os.path.join(out, "result.json"), "w") as file:
        json.dump(found, file)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
