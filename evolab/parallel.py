"""Run many evaluations at once: serially, on local processes, or on a Dask cluster.

Each backend is a *map*: ``backend(function, items)`` returns
``[function(item) for item in items]``, so it plugs into DEAP as
``toolbox.register("map", backend)`` and into every :mod:`evolab.search`
method as ``map=backend`` (or ``n_workers=4`` for local processes).

Why not ``multiprocessing.Pool``? From a notebook, functions and lambdas
defined in ``__main__`` cannot be pickled by reference, and forking a
process that already runs TensorFlow threads can hang. So the process
backend *spawns* fresh workers and ships every function, argument and
result with ``cloudpickle``, which copies such objects by value; the Dask
backend sends the same cloudpickled bytes. DEAP's ``creator`` classes exist
only in the process that created them (DEAP issue 92); since DEAP 1.4 they
pickle as "re-create this class", so a worker rebuilds them on arrival.
(evolab's own searches send workers only params dicts, never individuals.)

Introduced in 05_genetic_algorithms.ipynb.
"""

from __future__ import annotations

import ast
import concurrent.futures
import ctypes
import functools
import multiprocessing
import os
import signal
import sys
import threading
import time

import cloudpickle

__all__ = ["SerialMap", "ProcessMap", "DaskMap", "resolve_map", "current_worker", "TimeLimitExceeded"]


class TimeLimitExceeded(TimeoutError):
    """Raised inside an item that ran past its map's ``timeout`` (a search records the trial as failed)."""


def _past_limit(timeout, ending="was stopped"):
    """The one message of a time limit, with how the item ended."""
    return f"the item ran past its time limit of {timeout:g} s (the map's timeout=) and {ending}"


def _call_pickled(blob: bytes, timeout=None, grace=None) -> bytes:
    """Runs in a worker: unpickle ``(function, item)``, call it (within ``timeout`` seconds), pickle the result."""
    function, item = cloudpickle.loads(blob)
    if timeout is None:
        return cloudpickle.dumps(function(item))
    message = _past_limit(timeout)
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        return cloudpickle.dumps(_call_with_alarm(function, item, timeout, grace, message))
    return cloudpickle.dumps(_call_in_thread(function, item, timeout, grace, message))


def _call_with_alarm(function, item, timeout, grace, message):
    """A process worker's main thread: SIGALRM stops Python code at ``timeout``; code that ignores it
    (stuck in native code, or catching every exception) has its process ended ``grace`` seconds later."""
    def on_alarm(signum, frame):
        raise TimeLimitExceeded(message)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    killer = None if grace is None else threading.Timer(timeout + grace, os._exit, (70,))
    if killer is not None:  # never in the user's own process (SerialMap): only in a worker that can be replaced
        killer.daemon = True
        killer.start()
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return function(item)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if killer is not None:
            killer.cancel()
        signal.signal(signal.SIGALRM, previous)


def _call_in_thread(function, item, timeout, grace, message):
    """A Dask worker thread (signals reach only main threads): run the item in a thread of its own, raise
    ``TimeLimitExceeded`` in it at ``timeout``, and give up on it ``grace`` seconds later if it still runs."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function(item)
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc

    runner = threading.Thread(target=target, daemon=True, name="evolab-item")
    runner.start()
    runner.join(timeout)
    if runner.is_alive():
        error = type("TimeLimitExceeded", (TimeLimitExceeded,), {"__init__": lambda self: TimeoutError.__init__(
            self, message), "__reduce__": lambda self: (TimeLimitExceeded, (message,))})
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(runner.ident), ctypes.py_object(error))
        runner.join(grace)
        if runner.is_alive():
            raise TimeLimitExceeded(_past_limit(timeout, f"did not stop within {grace:g} s more (stuck in native "
                                                         "code?); it is left running in its worker"))
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _unguarded_script_line():
    """The line of ``__main__`` that starts worker processes outside ``if __name__ == "__main__":``, if any.

    Spawned workers import the script again; code at its top level that starts
    workers would start them again in every worker, which Python refuses there,
    so every trial would fail with a bare ``BrokenProcessPool``. Found from the
    script's own source; ``None`` in notebooks, ``python -c`` and guarded code.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    frame = sys._getframe()
    while frame is not None and not (frame.f_code.co_name == "<module>" and frame.f_globals is vars(main)):
        frame = frame.f_back
    if frame is None or not path:
        return None
    try:
        with open(path, encoding="utf-8") as file:
            tree = ast.parse(file.read())
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.If) and "__name__" in ast.unparse(node.test) and "__main__" in ast.unparse(node.test):
            if node.lineno <= frame.f_lineno <= node.end_lineno:
                return None
    return path, frame.f_lineno


def current_worker() -> str:
    """A name for the process running this code: a Dask worker's address, or ``pid-<n>``."""
    import sys

    if "distributed" in sys.modules:
        try:
            from distributed import get_worker

            return get_worker().address
        except ValueError:  # not inside a Dask worker
            pass
    return f"pid-{os.getpid()}"


class SerialMap:
    """Evaluates one item after another in this process (the default).

    Args:
        timeout: seconds one item may run (default: no limit). Past it the
            item raises :class:`TimeLimitExceeded` (a failed trial with that
            reason; the search goes on). It uses the SIGALRM signal, so it
            works in the main thread on Linux and macOS (a notebook's cells
            run there), and it stops Python code only: code stuck inside one
            native call is stopped when that call returns. Use
            ``ProcessMap(1, timeout=...)`` to stop anything.

    Example:
        >>> evolab.parallel.SerialMap()(abs, [-1, 2])
        [1, 2]
        >>> result = evolab.search.random_search(objective, space, n_trials=20, map=SerialMap(timeout=60))

    Introduced in 05_genetic_algorithms.ipynb.
    """

    n_workers = 1

    def __init__(self, timeout=None):
        self.timeout = _check_timeout(timeout)
        if self.timeout is not None and not hasattr(signal, "setitimer"):
            raise ValueError("SerialMap(timeout=...) needs the SIGALRM signal, which this system lacks; use "
                             "ProcessMap(1, timeout=...) instead")

    def _call(self, function, item):
        if self.timeout is None:
            return function(item)
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("SerialMap(timeout=...) must run in the main thread (signals reach only it); "
                               "use ProcessMap(1, timeout=...) from other threads")
        return _call_with_alarm(function, item, self.timeout, None, _past_limit(self.timeout))

    def __call__(self, function, *iterables):
        return [self._call(_Star(function), args) for args in zip(*iterables)]

    def map(self, function, items, return_exceptions=False):
        """Like ``__call__`` with one iterable; with ``return_exceptions`` an item that raises gives its exception."""
        results = []
        for item in items:
            try:
                results.append(self._call(function, item))
            except Exception as exc:
                if not return_exceptions:
                    raise
                results.append(exc)
        return results

    def close(self):
        """Nothing to release (present so every backend has the same interface)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        return "SerialMap()" if self.timeout is None else f"SerialMap(timeout={self.timeout!r})"


class _Star:
    """Turns ``f(a, b)`` into ``g((a, b))`` so several iterables travel as one item."""

    def __init__(self, function):
        self.function = function

    def __call__(self, args):
        return self.function(*args)


class _PickledMap(SerialMap):
    """Shared code: send cloudpickled ``(function, item)`` blobs, get cloudpickled results back."""

    _grace = 5.0  # seconds an item may take to stop after its time limit, before it is given up on

    def __call__(self, function, *iterables):
        if len(iterables) == 1:
            return self.map(function, iterables[0])
        return self.map(_Star(function), list(zip(*iterables)))

    def map(self, function, items, return_exceptions=False):
        blobs = [cloudpickle.dumps((function, item)) for item in items]
        if not blobs:
            return []
        results = []
        for outcome in self._run(blobs):
            if isinstance(outcome, BaseException):
                if not return_exceptions or not isinstance(outcome, Exception):
                    raise outcome
                results.append(outcome)
            else:
                results.append(cloudpickle.loads(outcome))
        return results


class ProcessMap(_PickledMap):
    """Evaluates items on ``n_workers`` local processes (spawned, so safe with TensorFlow and Jupyter).

    The workers start on the first call (about a second each, more when the
    function imports Keras) and are reused until :meth:`close`. Use it as a
    context manager, or call ``close()`` when done.

    Args:
        n_workers: the number of processes (default: the number of CPU cores).
        max_tasks_per_child: start fresh worker processes, between two
            calls, once the workers have run this many items each (default
            never). TensorFlow keeps a few MB of traced graphs per Keras
            training even after ``clear_session`` (``benchmarks/search_memory.py``:
            4.5 MB per trial), so a search of thousands of trainings stays
            flat with, say, ``max_tasks_per_child=50``. (Python's own
            ``ProcessPoolExecutor(max_tasks_per_child=...)`` can hang on 3.11.)
        timeout: seconds one item may run, counted from its start on a
            worker (default: no limit). Past it the item raises
            :class:`TimeLimitExceeded` (a failed trial with that reason; the
            search goes on); one that does not stop within 5 s more (stuck in
            native code) has its worker process ended and is reported the same way.

    An item that kills its worker (out of memory, ``os._exit``, a crash in
    native code) breaks every item running beside it; those are run again one
    at a time in fresh workers, so only the item that dies again fails
    (``BrokenProcessPool``, a failed trial in a search).

    Example:
        >>> with evolab.parallel.ProcessMap(2) as pmap:
        ...     toolbox.register("map", pmap)
        ...     squares = pmap(lambda x: x * x, range(4))

    Introduced in 05_genetic_algorithms.ipynb.
    """

    def __init__(self, n_workers=None, max_tasks_per_child=None, timeout=None):
        n_workers = (os.cpu_count() or 1) if n_workers is None else n_workers
        if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
            raise ValueError(f"n_workers must be a positive int; received {n_workers!r}")
        if max_tasks_per_child is not None:
            if isinstance(max_tasks_per_child, bool) or not isinstance(max_tasks_per_child, int) \
                    or max_tasks_per_child < 1:
                raise ValueError(f"max_tasks_per_child must be a positive int or None; "
                                 f"received {max_tasks_per_child!r}")
        self.n_workers, self.max_tasks_per_child = n_workers, max_tasks_per_child
        self.timeout = _check_timeout(timeout)
        self._executor, self._items_run = None, 0

    def _pool(self):
        if self._executor is None:
            unguarded = _unguarded_script_line()
            if unguarded is not None:
                raise RuntimeError(
                    f"ProcessMap starts worker processes from line {unguarded[1]} of {os.path.basename(unguarded[0])}, "
                    "outside `if __name__ == \"__main__\":`. The workers import the script again and would start "
                    "workers of their own (every trial would fail with BrokenProcessPool): put the code that runs "
                    "the search under that guard.")
            context = multiprocessing.get_context("spawn")
            self._executor = concurrent.futures.ProcessPoolExecutor(self.n_workers, mp_context=context)
        return self._executor

    def _run(self, blobs):
        if self.max_tasks_per_child is not None and self._items_run >= self.max_tasks_per_child * self.n_workers:
            self.close()  # fresh workers: whatever the old ones kept (TensorFlow graphs) is given back
        self._items_run += len(blobs)
        futures = [self._pool().submit(_call_pickled, blob, self.timeout, self._grace) for blob in blobs]
        try:
            concurrent.futures.wait(futures)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        outcomes = [future.exception() or future.result() for future in futures]
        broken = [i for i, o in enumerate(outcomes) if isinstance(o, concurrent.futures.process.BrokenProcessPool)]
        if broken:
            # A dying worker breaks the whole pool, so every item still running failed with it, healthy or not.
            # Run those again one at a time in a fresh pool: only the items that kill their worker fail.
            self.close()
            for i in broken:
                started = time.monotonic()
                future = self._pool().submit(_call_pickled, blobs[i], self.timeout, self._grace)
                outcome = future.exception()
                if isinstance(outcome, concurrent.futures.process.BrokenProcessPool):
                    self.close()
                    if self.timeout is not None and time.monotonic() - started >= self.timeout + self._grace:
                        outcome = TimeLimitExceeded(_past_limit(
                            self.timeout, f"did not stop within {self._grace:g} s more (stuck in native code?), so "
                            "its worker process was ended"))
                    else:
                        outcome = concurrent.futures.process.BrokenProcessPool(
                            "the worker process running this item died (killed, out of memory, os._exit or a crash "
                            "in native code), and died again when the item ran alone")
                outcomes[i] = future.result() if outcome is None else outcome
        return outcomes

    def close(self):
        """Shuts the worker processes down."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._items_run = 0

    def __repr__(self):
        timeout = "" if self.timeout is None else f", timeout={self.timeout!r}"
        return f"ProcessMap(n_workers={self.n_workers}{timeout})"


class DaskMap(_PickledMap):
    """Evaluates items on a Dask cluster: an existing ``Client``, a scheduler address, or a new ``LocalCluster``.

    When a worker dies mid-task, Dask reschedules its tasks on the others, so
    a search loses no trial; a task that keeps killing workers comes back as a
    failed trial (``KilledWorker``). A cluster this object started is shut
    down by :meth:`close`; a client you passed in is left running.

    Args:
        client: a ``dask.distributed.Client`` to use.
        address: a scheduler address such as ``"tcp://10.0.0.5:8786"`` (ignored with ``client``).
        n_workers: workers of the ``LocalCluster`` started when neither is given (default 2).
        threads_per_worker: threads per local worker (default 1: Keras trains best alone).
        host: the interface a started ``LocalCluster`` (scheduler, workers, dashboard) listens on; default
            ``"127.0.0.1"``, this machine only (a classroom machine is shared: a cluster open to the network
            would run anyone's code). Pass ``"0.0.0.0"`` only to reach it from other machines on purpose.
        worker_timeout: seconds a call waits for a worker when the scheduler
            has none, at the start or after losing every worker mid-call
            (default 60), then ``TimeoutError`` naming the scheduler;
            ``None`` waits as long as it takes.
        timeout: seconds one item may run on its worker (default: no limit).
            Past it the item raises :class:`TimeLimitExceeded` (a failed
            trial with that reason; the search goes on). An item stuck in
            native code cannot be stopped inside a Dask worker: 5 s later it
            is reported the same way and left running in its worker thread
            (``client.restart()`` ends it).

    Example:
        >>> with evolab.parallel.DaskMap(n_workers=2) as dmap:
        ...     result = evolab.search.random_search(objective, space, n_trials=20, map=dmap)
        ...     print(dmap.dashboard_link)

    Introduced in 05_genetic_algorithms.ipynb.
    """

    def __init__(self, client=None, address=None, n_workers=2, threads_per_worker=1, host="127.0.0.1",
                 worker_timeout=60.0, timeout=None):
        from dask.distributed import Client, LocalCluster

        if worker_timeout is not None and (isinstance(worker_timeout, bool) or
                                           not isinstance(worker_timeout, (int, float)) or not worker_timeout > 0):
            raise ValueError(f"worker_timeout must be a positive number of seconds or None; received {worker_timeout!r}")
        self.worker_timeout, self.timeout = worker_timeout, _check_timeout(timeout)
        self._cluster = None
        if client is not None:
            self.client, self._owns_client = client, False
        elif address is not None:
            self.client, self._owns_client = Client(address), True
        else:
            if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
                raise ValueError(f"n_workers must be a positive int; received {n_workers!r}")
            self._cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                                         processes=True, host=host, dashboard_address=f"{host}:0")
            self.client, self._owns_client = Client(self._cluster), True

    @property
    def n_workers(self) -> int:
        """The number of worker threads the cluster has now (at least 1)."""
        info = self.client.scheduler_info()
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    @property
    def dashboard_link(self):
        return self.client.dashboard_link

    def _no_workers(self):
        return TimeoutError(
            f"the Dask scheduler at {self.client.scheduler.address} has had no worker for {self.worker_timeout} s, "
            f"so nothing can run: start workers (`dask worker {self.client.scheduler.address}`), or give "
            "worker_timeout=None to wait for them")

    def _run(self, blobs):
        from dask.distributed import wait

        if not self.client.scheduler_info().get("workers"):
            try:
                self.client.wait_for_workers(1, timeout=self.worker_timeout)
            except TimeoutError:
                raise self._no_workers() from None
        call = functools.partial(_call_pickled, timeout=self.timeout, grace=self._grace)
        futures = self.client.map(call, blobs, pure=False)
        try:
            without_workers_since = None
            while True:  # wait in short steps, so that losing every worker mid-call ends in an error, not a hang
                try:
                    wait(futures, timeout=1.0)
                    break
                except TimeoutError:
                    if self.client.scheduler_info().get("workers"):
                        without_workers_since = None
                    elif without_workers_since is None:
                        without_workers_since = time.monotonic()
                    elif self.worker_timeout is not None and \
                            time.monotonic() - without_workers_since > self.worker_timeout:
                        raise self._no_workers() from None
        except BaseException:
            self.client.cancel(futures)
            raise
        return [future.exception() if future.status == "error" else future.result() for future in futures]

    def close(self):
        """Closes the client and the cluster this object started."""
        if self._owns_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def __repr__(self):
        return f"DaskMap({self.client!r})"


def _check_timeout(timeout):
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not timeout > 0 or timeout == float("inf")):
        raise ValueError(f"timeout must be a positive number of seconds per item, or None for no limit; "
                         f"received {timeout!r}")
    return timeout


def resolve_map(map=None, n_workers=None):
    """The backend a search uses, and whether the search must close it.

    Args:
        map: a backend from this module, a ``dask.distributed.Client``, or any
            ``map``-like callable (called as ``map(function, items)``).
        n_workers: with no ``map``: ``None`` or 1 runs serially, ``k > 1``
            starts a :class:`ProcessMap` of ``k`` processes.

    Returns:
        ``(backend, owned)``.

    Raises:
        ValueError: when both are given, or ``n_workers`` is not a positive int.
    """
    if map is not None and n_workers not in (None, 1):
        raise ValueError(f"give map= or n_workers=, not both; received map={map!r}, n_workers={n_workers!r}")
    if map is not None:
        if type(map).__name__ == "Client" and hasattr(map, "scheduler_info"):
            return DaskMap(client=map), False
        if not callable(map):
            raise ValueError(f"map must be callable like the built-in map; received {map!r}")
        return map, False
    if n_workers is None or n_workers == 1:
        return SerialMap(), True
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"n_workers must be a positive int; received {n_workers!r}")
    return ProcessMap(n_workers), True
