"""Ray itself: attaching to a cluster or starting a local Ray (loopback only, SIGTERM kept
for the driver), and the environment of the workers that train."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

from .._ray_compat import loopback_only, shutdown_local


def worker_env(backend: str, gpus: bool = False) -> dict[str, str]:
    """Environment of the Ray workers that train: Keras' `backend` (`search.backend`; each
    trial checks it again, `backend.use_backend`), quiet TensorFlow. Without `gpus` no GPU
    is visible (no probing); with them Ray sets CUDA_VISIBLE_DEVICES in each trial's worker
    to the GPUs it gave that trial, and the trial's framework sees those alone."""
    env = {"TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": backend}
    return env if gpus else {**env, "CUDA_VISIBLE_DEVICES": ""}


def start_ray(address: str | None = None, cpus: int | None = None, backend: str = "jax", gpus: bool = False) -> bool:
    """Attach to `address` (or $RAY_ADDRESS), else start a local Ray. True if this call did either.

    On a cluster the workers get this package (`py_modules`); its dependencies must be
    installed on the nodes.
    """
    import signal
    import threading

    import ray

    if ray.is_initialized():
        return False
    # ray.init replaces the driver's SIGTERM handler (it exits at once); keep ours, which
    # stops the search like Ctrl-C (`cli`)
    main_thread = threading.current_thread() is threading.main_thread()
    sigterm = signal.getsignal(signal.SIGTERM) if main_thread else None
    # A local Ray's processes (GCS, raylet, workers) are in the driver's process group. Ray
    # blocks SIGINT in them, so that Ctrl-C reaches only the driver, which stops the search
    # through them; SIGTERM sent to the whole group (Slurm's scancel, `kill -- -PGID`) killed
    # them under the driver instead, which then hung for a minute and died with its runs left
    # RUNNING. They inherit this thread's signal mask: block SIGTERM in it while they start,
    # as Ray does SIGINT. The driver's own SIGTERM, if one comes meanwhile, waits until then.
    local = not (address or os.environ.get("RAY_ADDRESS"))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM}) if local else None
    try:
        _init_ray(ray, address, cpus, backend, gpus)
    finally:
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if callable(sigterm):
            signal.signal(signal.SIGTERM, sigterm)
    return True


class RayStarting:
    """`start_ray` in a thread, begun as soon as the driver knows where its trials run, so
    that Ray's start (spawning its processes, mostly waiting) overlaps the rest of the
    set-up (the tracking store, the experiment). `run_trials` takes it over (`wait`, then
    `release` once Ray is shut down); a search that fails or is interrupted before its
    trials stops it (`cancel`).

    The thread lives until Ray is shut down: Ray gives its processes a parent-death signal,
    which Linux sends when the *thread* that started them ends.

    SIGTERM: Ray's core worker puts in a native SIGTERM handler that aborts the driver
    (`start_ray` puts the driver's own back when it runs in the main thread; this thread
    cannot). So the driver's SIGTERM waits, blocked, from here until the main thread has
    its handler back (`wait` or `cancel`), as it waits during `start_ray` itself; the
    starting thread keeps it blocked for its whole life, so that the kernel never hands a
    SIGTERM to it. SIGINT is taken as before."""

    def __init__(self, address: str | None, cpus: int | None, backend: str, gpus: bool):
        self._out: dict[str, Any] = {}
        self._ready = threading.Event()
        self._done = threading.Event()
        self.taken = False
        main = threading.current_thread() is threading.main_thread()
        self._sigterm = signal.getsignal(signal.SIGTERM) if main else None
        self._mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM}) if main else None
        self._thread = threading.Thread(target=self._start, args=(address, cpus, backend, gpus), name="hgq_automl-ray-start", daemon=True)
        self._thread.start()

    def _settle(self) -> None:
        """In the main thread, once Ray is up: the driver's SIGTERM handler back, SIGTERM unblocked."""
        self._ready.wait()
        if self._sigterm is not None:
            signal.signal(signal.SIGTERM, self._sigterm)
            self._sigterm = None
        if self._mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self._mask)
            self._mask = None

    def _start(self, *args) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        try:
            self._out["started"] = start_ray(*args)
        except BaseException as exc:  # noqa: BLE001 - raised again in the driver's thread by `wait`
            self._out["error"] = exc
        self._ready.set()
        self._done.wait()

    def wait(self) -> bool:
        """Ray is up (or its start's error raised here); True if this start began it."""
        self.taken = True
        self._settle()
        if "error" in self._out:
            self.release()
            raise self._out["error"]
        return self._out["started"]

    def release(self) -> None:
        """Ray was shut down: the thread that started it may end."""
        self._done.set()
        self._thread.join()

    def cancel(self) -> None:
        """The search ends before its trials: stop the Ray this start began, once it is up."""
        if self.taken:
            return
        self.taken = True
        self._settle()
        if self._out.get("started"):
            shutdown_local()
        self.release()


def _init_ray(ray, address: str | None, cpus: int | None, backend: str, gpus: bool) -> None:
    address = address or os.environ.get("RAY_ADDRESS") or None
    runtime_env: dict[str, Any] = {"env_vars": worker_env(backend, gpus)}
    if address:
        runtime_env["py_modules"] = [str(Path(__file__).resolve().parent.parent)]  # the hgq_automl package
        ray.init(address=address, log_to_driver=False, logging_level="ERROR", runtime_env=runtime_env)
    else:
        loopback_only()
        ray.init(
            address="local",  # a new local Ray, never one found in /tmp/ray/ray_current_cluster
            num_cpus=cpus or os.cpu_count(),
            _node_ip_address="127.0.0.1",
            include_dashboard=False,  # no dashboard (its agent still runs, on the node IP)
            log_to_driver=False,
            logging_level="ERROR",
            runtime_env=runtime_env,
        )
