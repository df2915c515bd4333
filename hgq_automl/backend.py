"""Which Keras backend trains, and how a process is set up for it before Keras loads.

Trials train on Keras' JAX backend by default (`search.backend: jax`), TensorFlow stays a
choice (`search.backend: tensorflow`, `--backend`). Keras reads `KERAS_BACKEND` once, when
it is first imported, so the choice is made per process before that import: Ray's workers
get it in their environment (`raytune.worker_env`) and each trial checks it again
(`use_backend`). A process that imported Keras already (a notebook) keeps its backend:
model files are backend-neutral, so what it loads or exports is the same model.

Thread caps are set here too: the variables only work before the framework starts.
"""

from __future__ import annotations

import os
import re
import sys

from .space.vocabulary import BACKENDS

DEFAULT_BACKEND = BACKENDS[0]

#: XLA's CPU client on one thread (no Eigen pool for its kernels, one intra-op thread).
_XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


class BackendMismatch(RuntimeError):
    """Keras is loaded in this process with another backend than the one asked for."""


def active_backend() -> str | None:
    """The backend of the Keras loaded in this process, or None if Keras is not loaded yet."""
    keras = sys.modules.get("keras")
    if keras is None:
        return None
    return keras.backend.backend()


def compile_cache_dir() -> str:
    """Where JAX keeps the programs it compiled, across processes and searches:
    $JAX_COMPILATION_CACHE_DIR if set, else $XDG_CACHE_HOME (or ~/.cache)/hgq_automl/jax."""
    given = os.environ.get("JAX_COMPILATION_CACHE_DIR")
    if given:
        return given
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "hgq_automl", "jax")


def process_env(backend: str, threads: int | None) -> dict[str, str]:
    """Environment variables for a process that trains on `backend`, before it loads Keras.

    Threads: TensorFlow reads its pool sizes; XLA (JAX) has no pool-size setting short of one
    thread, so more than one thread leaves XLA's own pool (sized to the machine's cores).

    Under JAX, XLA's persistent compilation cache (`compile_cache_dir`), every program kept
    however quick its compilation: the trials of a search compile the same train step, the
    same tracing and inference passes and the same small operations (a trial's first
    seconds are mostly compilation); from the second trial of an architecture and batch
    size on, they are read back. The cache is keyed by the program, XLA's flags and versions."""
    env = {"TF_CPP_MIN_LOG_LEVEL": "2"}
    if backend == "jax":
        env["JAX_COMPILATION_CACHE_DIR"] = compile_cache_dir()
        env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", os.environ.get("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0"))
        env.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", os.environ.get("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0"))
    if not threads:
        return env
    env["OMP_NUM_THREADS"] = str(threads)
    if backend == "tensorflow":
        env["TF_NUM_INTRAOP_THREADS"] = env["TF_NUM_INTEROP_THREADS"] = str(threads)
    elif threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        env["XLA_FLAGS"] = (flags + " " + _XLA_ONE_THREAD).strip() if _XLA_ONE_THREAD not in flags else flags
    return env


def use_backend(backend: str, threads: int | None = None) -> None:
    """Make `backend` Keras' backend in this process and cap its threads, before Keras loads.

    Raises BackendMismatch when Keras is loaded already with another backend (the process
    cannot switch: start a new one)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown Keras backend {backend!r}; known: {', '.join(BACKENDS)}")
    active = active_backend()
    if active is not None and active != backend:
        raise BackendMismatch(
            f"Keras is loaded in this process with the {active} backend, not {backend}; "
            f"set KERAS_BACKEND={backend} before importing keras, or choose backend {active}"
        )
    if active is None:
        os.environ["KERAS_BACKEND"] = backend
        os.environ.update(process_env(backend, threads))
    if backend == "tensorflow" and threads:
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:
            pass  # already initialised in this process (a reused actor): the caps stand


def driver_backend(backend: str) -> str:
    """The backend the driver (the search's own process) loads Keras with: `backend` unless
    Keras is loaded already (a notebook keeps its own; model files are backend-neutral).
    TensorFlow is imported here, its start-up log lines kept off stderr (`import_quietly`),
    so that a bad model's error is the only line."""
    active = active_backend()
    if active is None:
        os.environ["KERAS_BACKEND"] = backend
        os.environ.update(process_env(backend, None))
        if backend == "tensorflow" and "tensorflow" not in sys.modules:
            import_quietly("tensorflow")
        return backend
    return active


#: what TensorFlow's C++ side prints when it loads, before it reads TF_CPP_MIN_LOG_LEVEL:
#: absl's preamble and INFO lines (oneDNN, CPU features); warnings and errors pass
_START_UP_NOISE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR|I\d{4} \d\d:\d\d:\d\d)")


def import_quietly(module: str) -> None:
    """Import `module` with the start-up lines its native code writes to stderr (file
    descriptor 2) filtered: `_START_UP_NOISE` dropped, anything else written back."""
    import importlib
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            importlib.import_module(module)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode("utf-8", "replace").splitlines(True) if not _START_UP_NOISE.match(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def local_gpus() -> int:
    """The NVIDIA GPUs this machine's driver lists (/proc/driver/nvidia/gpus), as Ray counts
    them for a local node; 0 without the driver."""
    try:
        return len(os.listdir("/proc/driver/nvidia/gpus"))
    except OSError:
        return 0
