"""Checkpoint files: written atomically, read without running code, never overwritten by accident.

A checkpoint holds what evolab writes and nothing else: dicts, lists, numbers,
strings, NumPy arrays and random-generator states (``neuroevolve``), plus, for
the searches, evolab's own optimizer objects with their DEAP parts. It is a
pickle, and a pickle may name any function for the loader to call, so a file
from elsewhere could run code when it is read. :func:`load` therefore reads
with an unpickler that admits only the classes and functions on the list
:data:`ALLOWED` (the ones evolab's checkpoints contain) and refuses anything
else, naming it, before it is called.

:func:`save` writes a temporary file of its own (a unique name) and renames it
over the checkpoint, so a stop at any moment leaves either the old or the new
checkpoint, and two runs never share a temporary file. :func:`claim` is what a
run calls before its first step: it refuses to start over an existing
checkpoint unless told to resume or to overwrite it, and refuses a checkpoint
path that another live run holds (a lock file next to it).

Introduced in 10_neuroevolution_at_scale.ipynb.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pickle
import uuid
from pathlib import Path

__all__ = ["save", "load", "claim", "release", "holding", "CheckpointError", "ALLOWED"]


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: damaged, from another program, or holding something evolab never writes."""


#: The (module, name) pairs a checkpoint may refer to: NumPy arrays, scalars and generators, and the classes of
#: evolab's search optimizers. Nothing here runs code of a file's choosing when it is called.
ALLOWED = frozenset({
    ("builtins", "object"), ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"),
    ("copyreg", "_reconstructor"), ("collections", "OrderedDict"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.numeric", "_frombuffer"),
    ("numpy.random._pickle", "__generator_ctor"), ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random._pcg64", "PCG64"), ("numpy.random._mt19937", "MT19937"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"), ("numpy.random.bit_generator", "SeedSequence"),
    ("deap.cma", "Strategy"),
    ("evolab.search.space", "SearchSpace"), ("evolab.search.space", "Real"), ("evolab.search.space", "Integer"),
    ("evolab.search.space", "Categorical"),
    ("evolab.search.evolutionary", "GeneticAlgorithm"), ("evolab.search.evolutionary", "ParticleSwarm"),
    ("evolab.search.evolutionary", "DifferentialEvolution"), ("evolab.search.evolutionary", "CMAES"),
    ("evolab.search.evolutionary", "_Individual"), ("evolab.search.evolutionary", "_MaxFitness"),
    ("evolab.search.nsga2", "NSGA2"),
    ("evolab.search.architecture", "ArchitectureEvolution"),
})


class _DataOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise CheckpointError(f"refers to {module}.{name}, which evolab never writes into a checkpoint; it is not "
                                  "loaded (a pickle can run code while it is read)")
        return super().find_class(module, name)


def load(path, what="checkpoint"):
    """Reads a checkpoint written by :func:`save`, admitting only the types in :data:`ALLOWED`.

    Raises:
        CheckpointError: the file is empty, truncated or not a pickle, or refers to anything not allowed; the
            message names the file.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            return _DataOnlyUnpickler(handle).load()
    except CheckpointError as error:
        raise CheckpointError(f"{what} {str(path)!r} {error}.") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            ImportError, MemoryError) as error:
        raise CheckpointError(f"{what} {str(path)!r} is damaged or not an evolab checkpoint "
                              f"({type(error).__name__}: {error}); delete it, or pass another path.") from None


def save(path, payload):
    """Writes ``payload`` to a uniquely named temporary file next to ``path``, then renames it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(temporary, "wb") as handle:
            pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)  # atomic: a stop at any moment leaves the old checkpoint or the new one
    finally:
        if temporary.exists():
            temporary.unlink()


_held = set()


def _lock_path(path):
    return path.with_name(path.name + ".lock")


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim(path, *, resume, overwrite=False):
    """Checks a checkpoint path before a run's first step, and holds it for this process.

    Args:
        path: the checkpoint file.
        resume: the run continues from ``path`` if it exists.
        overwrite: the run may start afresh over an existing checkpoint.

    Raises:
        CheckpointError: ``path`` exists and neither ``resume`` nor ``overwrite`` is set; ``path`` is a folder or
            cannot be written; another running process holds it.
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"checkpoint {str(path)!r} is a folder; pass a file path.")
    if path.exists() and not resume and not overwrite:
        raise CheckpointError(f"checkpoint {str(path)!r} exists: pass resume=True to continue that run, or "
                              "overwrite=True to start afresh and replace it (or choose another path).")
    lock = _lock_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if lock.resolve() in _held:
            raise CheckpointError(f"checkpoint {str(path)!r} is in use by another run in this process.")
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            owner = lock.read_text().strip()
            if owner.isdigit() and int(owner) != os.getpid() and _alive(int(owner)):
                raise CheckpointError(f"checkpoint {str(path)!r} is in use by another running process (pid {owner}, "
                                      f"lock file {lock.name}); wait for it, or choose another path.") from None
            lock.unlink(missing_ok=True)  # left by a process that has died: take it over
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(str(os.getpid()))
        for stale in path.parent.glob(f"{glob.escape(path.name)}.*.tmp"):
            stale.unlink(missing_ok=True)  # a write that a killed run never finished (the lock says none is live)
    except OSError as error:
        raise CheckpointError(f"checkpoint {str(path)!r} cannot be written ({type(error).__name__}: {error}).") from None
    _held.add(lock.resolve())
    return path


def release(path):
    """Gives up the hold that :func:`claim` took (the checkpoint file itself stays)."""
    lock = _lock_path(Path(path))
    _held.discard(lock.resolve())
    lock.unlink(missing_ok=True)


@contextlib.contextmanager
def holding(path, *, resume, overwrite=False):
    """:func:`claim` on entry and :func:`release` on exit (nothing at all when ``path`` is None)."""
    if path is None:
        yield None
        return
    claim(path, resume=resume, overwrite=overwrite)
    try:
        yield path
    finally:
        release(path)


@atexit.register
def _release_all():
    for lock in list(_held):
        lock.unlink(missing_ok=True)
