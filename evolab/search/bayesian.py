"""Model-based (Bayesian) search: Optuna's TPE or GP sampler, or hyperopt's TPE.

Introduced in 04_bayesian_optimization.ipynb.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import socket
import threading
import time

import numpy as np

from ..checkpoint import _alive
from .engine import Search, Trial
from .space import Categorical, Integer, Real, as_space

__all__ = ["bayesian_search"]


def bayesian_search(objective, space, n_trials=None, *, timeout=None, seed=None, engine="optuna", sampler="tpe",
                    pruner="median", n_startup_trials=10, storage=None, study_name=None, callbacks=None, map=None,
                    n_workers=None):
    """Fits a model of "which params score well" to the trials so far and samples where it looks promising.

    Optuna's TPE (tree-structured Parzen estimator) is the default; its first
    ``n_startup_trials`` are random. With ``storage="sqlite:///study.db"``
    and a ``study_name``, every trial is saved as it finishes, and calling
    again with the same arguments resumes the study: its earlier trials
    count towards ``n_trials``.

    Objectives that call ``trial.report(step, value)`` and
    ``trial.should_prune()`` are stopped early by Optuna's pruner. Pruning
    decisions need the live study, so they are made in serial runs; with
    ``map``/``n_workers`` the reported values still reach the study after
    each trial.

    Args:
        objective: ``objective(params) -> float`` or ``objective(params, trial)``.
        space: a :class:`SearchSpace` or a dict of dimensions.
        n_trials: the number of evaluations (including resumed ones).
        timeout: optional seconds after which no new trial starts.
        seed: seeds the sampler.
        engine: ``"optuna"`` (default) or ``"hyperopt"`` (TPE; serial only; no pruning, no storage).
        sampler: ``"tpe"`` (default), ``"gp"`` (Optuna's Gaussian process; needs PyTorch),
            ``"random"``, or an ``optuna.samplers`` object.
        pruner: ``"median"`` (default), ``"successive_halving"``, ``"hyperband"``, ``None``,
            or an ``optuna.pruners`` object.
        n_startup_trials: random trials before the model takes over (default 10).
        storage: an Optuna storage URL such as ``"sqlite:///search.db"`` (default: in memory). A study
            resumed from it continues where it stopped: with a ``seed`` (and a sampler named here), trial ``n``
            is drawn from a stream seeded by ``(seed, n)``, so a serial run resumed after any stop makes the
            same trials as an unbroken one; trials a killed process left running are marked failed and run
            again.
        study_name: the study's name inside ``storage`` (required with ``storage``).
        callbacks: a list of :class:`evolab.callbacks.Callback`.
        map: a backend from :mod:`evolab.parallel` (or any ``map``-like callable).
        n_workers: with no ``map``, run on this many local processes.

    Returns:
        A :class:`SearchResult` (``info["study_name"]`` names the Optuna study).

    Example:
        >>> result = evolab.search.bayesian_search(objective, space, n_trials=50, seed=0,
        ...                                        storage="sqlite:///lesson4.db", study_name="mlp")

    Introduced in 04_bayesian_optimization.ipynb.
    """
    space = as_space(space)
    if engine == "hyperopt":
        if (map is not None or n_workers not in (None, 1)) or storage is not None:
            raise ValueError("engine='hyperopt' runs serially without storage; "
                             f"received map={map!r}, n_workers={n_workers!r}, storage={storage!r}")
        return _hyperopt_search(objective, space, n_trials, timeout, seed, n_startup_trials, callbacks)
    if engine != "optuna":
        raise ValueError(f"engine must be 'optuna' or 'hyperopt'; received {engine!r}")
    return _optuna_search(objective, space, n_trials, timeout, seed, sampler, pruner, n_startup_trials, storage,
                          study_name, callbacks, map, n_workers)


# --- Optuna ----------------------------------------------------------------------
class _OptunaTrial(Trial):
    """A trial whose reports go straight to Optuna's trial, so its pruner decides (serial runs)."""

    def __init__(self, number, params, optuna_trial):
        super().__init__(number, params)
        self._optuna_trial = optuna_trial

    def report(self, step, value):
        super().report(step, value)
        self._optuna_trial.report(float(value), int(step))

    def should_prune(self):
        return self._optuna_trial.should_prune()


def _optuna_distributions(space):
    import optuna.distributions as od

    distributions = {}
    for name, dim in space.dimensions.items():
        if isinstance(dim, Real):
            distributions[name] = od.FloatDistribution(dim.low, dim.high, log=dim.log)
        elif isinstance(dim, Integer):
            distributions[name] = od.IntDistribution(dim.low, dim.high, log=dim.log, step=dim.step)
        else:  # Optuna stores choices' indices, so any Python value can be a choice
            distributions[name] = od.CategoricalDistribution(list(range(len(dim.choices))))
    return distributions


def _from_optuna(space, optuna_params):
    return {name: dim.choices[optuna_params[name]] if isinstance(dim, Categorical) else optuna_params[name]
            for name, dim in space.dimensions.items()}


def _make_sampler(sampler, seed, n_startup_trials):
    import optuna

    if isinstance(sampler, optuna.samplers.BaseSampler):
        return sampler
    if sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials)
    if sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if sampler == "gp":
        try:
            import torch  # noqa: F401
        except ImportError as exc:
            raise ImportError("sampler='gp' uses Optuna's GPSampler, which needs PyTorch: pip install torch") from exc
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=n_startup_trials)
    raise ValueError(f"sampler must be 'tpe', 'gp', 'random' or an optuna sampler; received {sampler!r}")


def _make_pruner(pruner):
    import optuna

    if pruner is None:
        return optuna.pruners.NopPruner()
    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    named = {"median": lambda: optuna.pruners.MedianPruner(n_startup_trials=5),
             "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
             "hyperband": optuna.pruners.HyperbandPruner}
    if pruner not in named:
        raise ValueError(f"pruner must be None, 'median', 'successive_halving', 'hyperband' or an optuna pruner; "
                         f"received {pruner!r}")
    return named[pruner]()


def _record_from_frozen(space, frozen):
    """An evolab trial record rebuilt from an Optuna trial stored earlier (for resuming)."""
    from optuna.trial import TrialState

    status = {TrialState.COMPLETE: "ok", TrialState.PRUNED: "pruned", TrialState.FAIL: "failed"}[frozen.state]
    start = frozen.datetime_start.timestamp()
    end = frozen.datetime_complete.timestamp() if frozen.datetime_complete else start
    score = frozen.value if frozen.value is not None else float("nan")
    return {"number": frozen.number, "params": _from_optuna(space, frozen.params), "score": float(score),
            "values": None, "status": status, "error": frozen.user_attrs.get("error"), "start": start, "end": end,
            "duration": end - start, "elapsed": float("nan"), "worker": frozen.user_attrs.get("worker", "resumed"),
            "intermediate": dict(frozen.intermediate_values)}


_PROCESS = f"{socket.gethostname()}:{os.getpid()}"


def _seed_for_trial(sampler, seed, number):
    """Reseeds the sampler's random streams from (seed, trial number).

    Optuna keeps one random stream per sampler object, and a resumed call builds a new sampler, so its stream would
    start again and repeat the first start-up trials. Seeded by trial number instead, a resumed study draws what an
    unbroken one draws at the same trial, from the same finished trials (in serial runs).
    """
    from optuna.samplers._lazy_random_state import LazyRandomState

    stream = int(np.random.SeedSequence([int(seed), int(number)]).generate_state(1)[0])
    for part in (sampler, getattr(sampler, "_random_sampler", None), getattr(sampler, "_independent_sampler", None)):
        if part is not None and hasattr(part, "_rng"):
            part._rng = LazyRandomState(stream)


def _open_study(attempts=6, **options):
    """``optuna.create_study``, tried again while another process is creating the same new database's tables.

    Two searches started at once on a new SQLite file race to create Optuna's
    schema, and the loser gets ``table ... already exists`` (or a duplicate
    ``alembic_version`` row); a moment later the schema is there and opening
    it works.
    """
    import optuna

    for attempt in range(attempts):
        try:
            return optuna.create_study(direction="maximize", load_if_exists=options["storage"] is not None,
                                       **options)
        except Exception as error:  # sqlalchemy's OperationalError / IntegrityError, without importing sqlalchemy
            racing = type(error).__name__ in ("OperationalError", "IntegrityError") and any(
                word in str(error) for word in ("already exists", "alembic_version", "UNIQUE constraint"))
            if not racing or attempt == attempts - 1:
                raise
            time.sleep(0.1 * 2 ** attempt)


@contextlib.contextmanager
def _deferring_stop():
    """Holds a Ctrl-C (the notebook's Stop) until the block ends; in the main thread, where signals arrive."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is None:
        yield  # (None: a handler set outside Python, which could not be put back)
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *args: caught.append(args))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _fail_orphans(study):
    """Marks as failed the trials left RUNNING by a process of this machine that no longer exists (a killed run);
    they are left out of the records, and their trial numbers run again."""
    from optuna.trial import TrialState

    host = socket.gethostname()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = str(trial.user_attrs.get("process", ""))
        name, _, pid = owner.rpartition(":")
        if name == host and pid.isdigit() and not _alive(int(pid)):
            study._storage.set_trial_user_attr(trial._trial_id, "interrupted", True)
            study._storage.set_trial_user_attr(trial._trial_id, "error", f"its process ({owner}) stopped")
            study.tell(trial.number, state=TrialState.FAIL)


def _tell(study, optuna_trial, record, live):
    from optuna.trial import TrialState

    optuna_trial.set_user_attr("worker", record["worker"])
    if not live:  # reports made on a worker reach the study now
        for step, value in sorted(record["intermediate"].items()):
            optuna_trial.report(value, step)
    if record["status"] == "ok":
        study.tell(optuna_trial, record["score"])
    elif record["status"] == "pruned":
        study.tell(optuna_trial, state=TrialState.PRUNED)
    else:
        optuna_trial.set_user_attr("error", record["error"])
        study.tell(optuna_trial, state=TrialState.FAIL)


def _optuna_search(objective, space, n_trials, timeout, seed, sampler, pruner, n_startup_trials, storage, study_name,
                   callbacks, map, n_workers):
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if storage is not None and study_name is None:
        raise ValueError("storage= needs study_name=: without a name every call creates a new study, and nothing "
                         "resumes.")
    own_sampler = isinstance(sampler, str)
    study = _open_study(sampler=_make_sampler(sampler, seed, n_startup_trials), pruner=_make_pruner(pruner),
                        storage=storage, study_name=study_name)
    distributions = _optuna_distributions(space)
    search = Search(objective, space, "bayesian", n_trials=n_trials, timeout=timeout, callbacks=callbacks, map=map,
                    n_workers=n_workers)
    _fail_orphans(study)
    finished = [t for t in study.get_trials(deepcopy=False)
                if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
                and not t.user_attrs.get("interrupted")]
    search.restore([_record_from_frozen(space, t) for t in finished])
    with search:
        batch = max(1, getattr(search.map, "n_workers", 1))
        while True:
            search.check_stop()
            remaining = search.remaining()
            asked = []
            for i in range(batch if remaining is None else min(batch, remaining)):
                if own_sampler and seed is not None:
                    _seed_for_trial(study.sampler, seed, len(search.records) + i)
                with _deferring_stop():  # a trial is never left asked but unclaimed, which no resume could fail
                    asked.append(study.ask(distributions))
                    asked[-1].set_user_attr("process", _PROCESS)
            params = [_from_optuna(space, t.params) for t in asked]
            trials = ([_OptunaTrial(len(search.records), params[0], asked[0])] if search.serial and len(asked) == 1
                      else None)
            first = len(search.records)
            try:
                search.evaluate(params, trials)
            finally:  # every asked trial is told, also when the search stops in the middle of a batch
                for i, optuna_trial in enumerate(asked):
                    if first + i < len(search.records):
                        _tell(study, optuna_trial, search.records[first + i], live=trials is not None)
                    else:
                        optuna_trial.set_user_attr("interrupted", True)
                        study.tell(optuna_trial, state=TrialState.FAIL)
    return search.result(info={"study_name": study.study_name, "storage": storage})


# --- hyperopt --------------------------------------------------------------------
def _hyperopt_space(space):
    from hyperopt import hp

    hspace = {}
    for name, dim in space.dimensions.items():
        if isinstance(dim, Real):
            hspace[name] = (hp.loguniform(name, math.log(dim.low), math.log(dim.high)) if dim.log
                            else hp.uniform(name, dim.low, dim.high))
        elif isinstance(dim, Integer):
            hspace[name] = (hp.qloguniform(name, math.log(dim.low - 0.5), math.log(dim.high + 0.5), 1) if dim.log
                            else hp.quniform(name, -0.5, len(dim.values()) - 0.5, 1))  # an index into the values
        else:
            hspace[name] = hp.choice(name, list(range(len(dim.choices))))
    return hspace


def _from_hyperopt(space, hparams):
    params = {}
    for name, dim in space.dimensions.items():
        value = hparams[name]
        if isinstance(dim, Real):
            params[name] = min(max(float(value), dim.low), dim.high)
        elif isinstance(dim, Integer) and dim.log:
            params[name] = dim.snap(value)
        else:
            values = dim.values()
            params[name] = values[min(max(int(round(value)), 0), len(values) - 1)]
    return params


def _hyperopt_search(objective, space, n_trials, timeout, seed, n_startup_trials, callbacks):
    import functools

    from hyperopt import STATUS_FAIL, STATUS_OK, Trials, fmin, tpe

    search = Search(objective, space, "bayesian", n_trials=n_trials, timeout=timeout, callbacks=callbacks)

    def hyperopt_objective(hparams):
        score = search.evaluate([_from_hyperopt(space, hparams)])[0]
        return {"status": STATUS_FAIL} if math.isnan(score) else {"loss": -score, "status": STATUS_OK}

    quiet = logging.getLogger("hyperopt")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # hyperopt logs our budget stop as a "job exception"
    with search:
        fmin(hyperopt_objective, _hyperopt_space(space),
             algo=functools.partial(tpe.suggest, n_startup_jobs=n_startup_trials),
             max_evals=n_trials if n_trials is not None else 10**9, trials=Trials(),
             rstate=np.random.default_rng(seed), show_progressbar=False)
    quiet.setLevel(level)
    return search.result(info={"engine": "hyperopt"})
