"""Benchmark of the search's speed: 1 vs 2 concurrent trials, and the default search's
total time, peak memory and per-trial time split.

- Throughput: the same 8 trials (digits_cnn, random sampler, seed 0, 30 epochs) one at a
  time with one TensorFlow thread (`--cpus 1`), one at a time with all cores' threads, and
  2 at a time with one thread each; throughput = trials per minute between the first
  trial's start and the last trial's end (MLflow run times), so Ray's start-up is left out;
  `--repeats N` runs the three N times, interleaved (these machines are noisy: compare means).
  Also the steady-state speed-up, without a batch's one-off costs (each worker's first trial
  imports TensorFlow; the last trial runs alone): see `lanes`.
- The input pipeline (outside Ray): the default model trained 15 epochs on digits with one
  TensorFlow thread, fed by Keras' own adapter for numpy arrays or by `hgq_automl.data.batches`
  (what trials use), alone and as two processes side by side: seconds per epoch and the cores
  each process kept busy (CPU time / wall time).
- The default search: `python -m hgq_automl search` exactly as the README's first command
  runs it (digits_cnn, 12 trials x 50 epochs, 2 at a time): total wall time of the command,
  peak resident memory of its whole process tree (driver + Ray's processes and workers,
  summed RSS sampled every 0.5 s) and of the driver alone, and where the trials' time went.
- Scaling (`--cluster`): the default search (which harvests: the best set-up measured) on a
  Ray cluster of 2 nodes with 1 CPU each (`ray start --head --block` + `ray start --block
  --address`, both on 127.0.0.1, started and stopped here) against the same command on one
  local 2-CPU Ray, `--repeats` times each, interleaved: trials per minute over the trials'
  span, and the command's wall time. Where users outgrow one machine a cluster is the path;
  this measures what going through one costs (two local nodes: no network in between).

Writes OUT/speed.json, OUT/speed.png and its section of docs/benchmarks.md. Starts Ray: run it
in a private network namespace,
    unshare -n bash -c 'ip link set lo up; python scripts/bench_speed.py'
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from benchlib import PARTS, machine, split, write_section  # noqa: E402


def _processes() -> dict[int, tuple[int, int, float, float, str]]:
    """pid -> (parent, RSS bytes, CPU seconds (user + system), start time, process title), from /proc."""
    tick, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            title = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            fields = stat[stat.rindex(")") + 2 :].split()
            cpu = (int(fields[11]) + int(fields[12])) / tick
            out[int(entry)] = (int(fields[1]), int(fields[21]) * page, cpu, int(fields[19]) / tick, title)
        except (OSError, ValueError, IndexError):
            continue
    return out


def _machine_busy_seconds() -> float:
    """CPU seconds the machine has spent busy (all cores; /proc/stat: all but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


#: Process roles in a search's process tree, by title: Ray names a worker after what it runs.
TRIAL_TITLE = "ray::ImplicitFunc"


class TreeSampler:
    """Samples a process and its descendants (from /proc) until stopped: the peak of their
    summed RSS (and of the root's), and, every sample, the CPU seconds each role has used
    so far: `driver` (the root), `trials` (Ray workers that ran a trial), `ray` (Ray's own
    processes and idle workers), and `machine`, what the whole machine was busy (`other` =
    machine - the tree: the kernel, this script, the rest of the machine)."""

    def __init__(self, pid: int, every: float = 0.5):
        self.pid = pid
        self.every = every
        self.peak_tree = self.peak_root = self.peak_trial = 0  # peak_trial: the largest RSS of one trial's worker
        self.cpu: dict[tuple[int, float], float] = {}  # (pid, start time) -> CPU seconds, last seen
        self.trial_pids: set[tuple[int, float]] = set()
        self.series: list[tuple[float, dict[str, float]]] = []  # (time.time(), CPU seconds by role so far)
        self._busy0 = _machine_busy_seconds()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self):
        procs = _processes()
        tree, frontier = {self.pid}, [self.pid]
        while frontier:
            pid = frontier.pop()
            kids = [p for p, info in procs.items() if info[0] == pid and p not in tree]
            tree.update(kids)
            frontier += kids
        total = sum(procs[p][1] for p in tree if p in procs)
        self.peak_tree = max(self.peak_tree, total)
        self.peak_root = max(self.peak_root, procs.get(self.pid, (0, 0))[1])
        for p in tree & procs.keys():
            _, _, cpu, began, title = procs[p]
            self.cpu[(p, began)] = cpu
            if title.startswith(TRIAL_TITLE):
                self.trial_pids.add((p, began))
                self.peak_trial = max(self.peak_trial, procs[p][1])
        self.series.append((time.time(), self._roles(_machine_busy_seconds() - self._busy0)))

    def _roles(self, machine: float) -> dict[str, float]:
        roles = {"driver": 0.0, "trials": 0.0, "ray": 0.0}
        for key, cpu in self.cpu.items():
            role = "driver" if key[0] == self.pid else "trials" if key in self.trial_pids else "ray"
            roles[role] += cpu
        return {**roles, "other": max(0.0, machine - sum(roles.values())), "machine": machine}

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every)

    def stop(self) -> dict[str, float]:
        """Stop sampling; the CPU seconds by role over the whole run (see the class)."""
        self._stop.set()
        self._thread.join()
        return self._roles(_machine_busy_seconds() - self._busy0)

    def between(self, start: float, end: float) -> dict[str, float]:
        """CPU seconds by role between two time.time() values (the samples nearest inside them)."""
        inside = [(t, roles) for t, roles in self.series if start <= t <= end]
        if len(inside) < 2:
            return {}
        (t0, first), (t1, last) = inside[0], inside[-1]
        return {"seconds": t1 - t0, **{k: last[k] - first[k] for k in first}}


def run_search(folder: Path, name: str, args: list[str], env_extra: dict[str, str] | None = None, code_root: Path | None = None) -> dict:
    """Run `python -m hgq_automl search` (of this checkout, or of `code_root`: another
    checkout's package, e.g. an older commit's) and measure it: wall time, memory, CPU, and
    the finished trials' timings from its MLflow store."""
    cmd = [sys.executable, "-m", "hgq_automl", "search", "--name", name, "--tracking-uri", f"sqlite:///{folder / 'speed.db'}",
           "--storage", str(folder / "runs"), *args]
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"} | (env_extra or {})
    if code_root is not None:
        env["PYTHONPATH"] = str(code_root)
    start = time.time()
    with open(folder / f"{name}.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder)
        memory = TreeSampler(proc.pid)
        code = proc.wait()
        cpu = memory.stop()
    wall = time.time() - start
    if code != 0:
        raise RuntimeError(f"{name} exited {code}; see {folder / f'{name}.log'}")
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{folder / 'speed.db'}")
    runs = client.search_runs([client.get_experiment_by_name(name).experiment_id], max_results=5000)
    trials = [r for r in runs if r.data.tags.get("hgq_automl.role") == "trial" and r.info.status == "FINISHED"]
    parent = next((r for r in runs if r.data.tags.get("hgq_automl.role") == "search"), None)
    # the driver's own account of its time outside the trials (driver_<phase>_seconds)
    phases = {k[len("driver_"):-len("_seconds")]: v for k, v in (parent.data.metrics if parent else {}).items() if k.startswith("driver_")}
    first, last = min(r.info.start_time for r in trials) / 1000, max(r.info.end_time for r in trials) / 1000
    timings = [
        {**{k: v for k, v in r.data.metrics.items() if k.endswith("_seconds") or k in ("val_accuracy", "test_accuracy", "ebops", "epochs_trained", "harvest_points")},
         "finished_at": r.info.end_time / 1000, "started_at": r.info.start_time / 1000}
        for r in trials
    ]
    return {
        "name": name,
        "args": args,
        "wall_seconds": wall,
        "trials": len(trials),
        "trials_span_seconds": last - first,
        "trials_per_minute": 60 * len(trials) / (last - first),
        # the work of searches whose ramps the budget paces (a fixed number of trials, as long as the budget)
        "epochs_trained": sum(t.get("epochs_trained", 0) for t in timings),
        "epochs_per_minute": 60 * sum(t.get("epochs_trained", 0) for t in timings) / (last - first),
        "peak_rss_tree_gb": memory.peak_tree / 1e9,
        "peak_rss_driver_gb": memory.peak_root / 1e9,
        "peak_rss_trial_worker_gb": memory.peak_trial / 1e9,
        # the search's time outside its trials: before the first trial started (imports, checks,
        # Ray's start, the first worker) and after the last one ended (the front's post-processing)
        "startup_seconds": first - start,
        "winddown_seconds": (start + wall) - last,
        "phases": phases,
        "cpu_seconds": cpu,
        "cpu_seconds_trials_span": memory.between(first, last),
        "timings": timings,
    }


FEEDS = ("keras", "batches")
FEED_EPOCHS = 15


def feed_worker(feed: str) -> None:
    """Train the default model FEED_EPOCHS epochs (after one warm-up epoch) with one thread; print
    {"epoch_seconds", "cores"} as JSON."""
    import resource

    from hgq_automl.data import batches, load_dataset
    from hgq_automl.space import load_space
    from hgq_automl.backend import use_backend

    use_backend("tensorflow", 1)  # the feeds compared are TensorFlow's (round 2's engine)
    import keras

    from hgq_automl.models import build_model, compile_model

    space = load_space("digits_cnn")
    data = load_dataset(space.dataset)
    params = space.resolve({"filters_1": 6, "parallelization_factor": 4, "beta": 1e-6, "beta_schedule": "constant", "batch_size": 32})
    keras.utils.set_random_seed(0)
    model = build_model(space.model, params, data.input_shape, data.n_classes)
    compile_model(model, 3e-3)
    if feed == "keras":
        fit = dict(x=data.x_train, y=data.y_train, validation_data=(data.x_val, data.y_val), batch_size=32)
    else:
        fit = dict(x=batches(data.x_train, data.y_train, 32, shuffle=True), validation_data=batches(data.x_val, data.y_val, 32))
    model.fit(epochs=1, verbose=0, **fit)
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    model.fit(epochs=FEED_EPOCHS, verbose=0, **fit)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    print(json.dumps({"epoch_seconds": wall / FEED_EPOCHS, "cores": cpu / wall}))


def feed_benchmark(repeats: int) -> list[dict]:
    """Each feed alone and as two processes side by side, `repeats` times, interleaved."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = [sys.executable, __file__, "--feed-worker"]
    runs = []
    for repeat in range(repeats):
        for feed in FEEDS:
            for side_by_side in (1, 2):
                procs = [subprocess.Popen([*cmd, feed], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True) for _ in range(side_by_side)]
                for proc in procs:
                    out, _ = proc.communicate()
                    if proc.returncode != 0:
                        raise RuntimeError(f"feed worker {feed} exited {proc.returncode}")
                    runs.append({"feed": feed, "side_by_side": side_by_side, "repeat": repeat, **json.loads(out.strip().splitlines()[-1])})
                print(f"feed {feed}, {side_by_side} side by side: " + ", ".join(f"{r['epoch_seconds']:.3f} s/epoch" for r in runs[-side_by_side:]), flush=True)
    return runs


def feed_summary(runs: list[dict]) -> dict:
    """Mean seconds per epoch and cores kept busy per (feed, side_by_side)."""
    out = {}
    for feed in FEEDS:
        for k in (1, 2):
            sel = [r for r in runs if r["feed"] == feed and r["side_by_side"] == k]
            if sel:
                out[f"{feed}_{k}"] = {"epoch_seconds": float(np.mean([r["epoch_seconds"] for r in sel])), "cores": float(np.mean([r["cores"] for r in sel]))}
    return out


def mean_rate(runs: list[dict], concurrency: int, threads: int) -> float:
    return float(np.mean([r["trials_per_minute"] for r in runs if r["concurrency"] == concurrency and r["threads"] == threads]))


def tail_start(timings: list[dict], concurrency: int) -> float:
    """When a set-up's tail began: from then on fewer trials ran than it had lanes, because
    none were left to start (8 trials in 2 lanes: at the end the last one runs alone)."""
    ends = sorted(t["finished_at"] for t in timings)
    last_start = max(t["finished_at"] - t["wall_seconds"] for t in timings)
    return max(ends[-concurrency], last_start)


def _by_start(run: dict) -> list[dict]:
    """A run's trials in the order they started: the order the sampler made them, so the
    i-th trial is the same config in every set-up (same sampler, same seed)."""
    return sorted(run["timings"], key=lambda t: t["finished_at"] - t["wall_seconds"])


def lanes(data: dict) -> dict | None:
    """The 2-vs-1 speed-up without the two one-off costs of a finite batch of trials: each
    Ray worker's first trial imports TensorFlow (seconds; later trials in the same worker
    reuse it), and at the end the last trial runs alone, one lane empty for want of trials.
    Steady state = 2 × (mean wall of a trial alone) / (mean wall side by side), over the
    trials that never ran in the 2-lane runs' tail, each with the median set-up time in
    place of its own (so no import): what 2 lanes sustain over a long search."""
    runs = data["throughput"]
    alone = [r for r in runs if r["concurrency"] == 1 and r["threads"] == 1]
    side = [r for r in runs if r["concurrency"] == 2 and r["threads"] == 1]
    if not alone or not side or not all("finished_at" in t and "setup_seconds" in t for r in alone + side for t in r["timings"]):
        return None
    in_tail = {i for r in side for i, t in enumerate(_by_start(r)) if t["finished_at"] > tail_start(r["timings"], 2)}
    setup = float(np.median([t["setup_seconds"] for r in alone + side for t in r["timings"]]))

    def steady_wall(group: list[dict]) -> float:
        return float(np.mean([t["wall_seconds"] - t["setup_seconds"] + setup
                              for r in group for i, t in enumerate(_by_start(r)) if i not in in_tail]))

    first_setup = float(np.mean([_by_start(r)[0]["setup_seconds"] for r in alone + side]))
    wall_alone, wall_side = steady_wall(alone), steady_wall(side)
    tail = [max(t["finished_at"] for t in r["timings"]) - tail_start(r["timings"], 2) for r in side]
    return {"tail": float(np.mean(tail)),
            "span": float(np.mean([r["trials_span_seconds"] for r in side])),
            "first_setup": first_setup, "setup": setup, "left_out": sorted(in_tail),
            "wall_alone": wall_alone, "wall_side": wall_side, "steady": 2 * wall_alone / wall_side}


def lanes_lines(data: dict) -> list[str]:
    ln = lanes(data)
    if ln is None:
        return []
    return [
        "",
        "Two costs of a batch of 8 weigh on that speed-up and fade over a longer search. Each Ray worker's first trial imports "
        f"TensorFlow ({ln['first_setup']:.1f} s of set-up against {ln['setup']:.1f} s for the worker's later trials): 2 lanes pay it "
        f"twice, 1 lane once. At the end, the last trial ran alone for {ln['tail']:.1f} s of the 2-lane runs' {ln['span']:.0f} s span "
        "(mean), one lane empty for want of trials. Without them (the median set-up in place of each trial's own, and the "
        f"trial{'s' if len(ln['left_out']) > 1 else ''} that ran in the tail left out of both set-ups), a trial took "
        f"{ln['wall_side']:.1f} s side by side against {ln['wall_alone']:.1f} s alone "
        f"({ln['wall_side'] / ln['wall_alone'] - 1:+.0%}), so over a long search 2 lanes sustain "
        f"2 × {ln['wall_alone']:.1f} / {ln['wall_side']:.1f} = **{ln['steady']:.2f}×** the trials of one.",
    ]


def plot(data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 3 if "feed" in data else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4), dpi=120)
    a, b = axes[0], axes[-1]
    if "feed" in data:
        f, c = feed_summary(data["feed"]), axes[1]
        xs = np.arange(2)
        for i, (feed, label, color) in enumerate((("keras", "Keras' numpy adapter", "#9aa5b1"), ("batches", "data.batches", "#00798c"))):
            c.bar(xs + (i - 0.5) * 0.38, [1 / f[f"{feed}_1"]["epoch_seconds"], 2 / f[f"{feed}_2"]["epoch_seconds"]], 0.38, label=label, color=color)
        c.set_xticks(xs, ["1 process", "2 side by side"])
        c.set_ylabel("epochs per second of the machine")
        c.set_title("input pipeline, outside Ray (1 thread each)", fontsize=9)
        c.legend(fontsize=8)
    runs = data["throughput"]
    setups = list(dict.fromkeys((r["concurrency"], r["threads"]) for r in runs))
    a.bar([f"{k} at a time\n{t} thread(s) each" for k, t in setups], [mean_rate(runs, k, t) for k, t in setups],
          color=["#9aa5b1", "#66a182", "#d1495b"][: len(setups)])
    for i, (k, t) in enumerate(setups):
        rates = [r["trials_per_minute"] for r in runs if (r["concurrency"], r["threads"]) == (k, t)]
        a.plot([i] * len(rates), rates, "k.", label="one run" if i == 0 else None)
    a.legend(fontsize=8)
    a.set_ylabel("trials per minute (bar: mean)")
    ln = lanes(data)
    steady = f", {ln['steady']:.2f}x in steady state" if ln else ""
    a.set_title(f"8 trials, 1 thread each: 2 at a time = {data['speedup']:.2f}x one{steady}", fontsize=9)
    s = data["default"]["split"]
    labels = [k.replace("_seconds", "") for k in PARTS]
    b.barh(labels, [100 * s[k] for k in PARTS], color="#00798c")
    b.set_xlabel("% of the trials' wall time (driver's view)")
    b.set_title(f"default search: where trial time goes (orchestration {100 * s['orchestration']:.1f} %)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def feed_lines(data: dict) -> list[str]:
    if "feed" not in data:
        return []
    f = feed_summary(data["feed"])
    repeats = len({r["repeat"] for r in data["feed"]})
    lines = [
        f"**Input pipeline** (outside Ray: the default model, {FEED_EPOCHS} digits epochs, one TensorFlow thread, "
        f"mean of {repeats} runs): seconds per epoch, and the cores each process kept busy.",
        "",
        "| feed | alone [s/epoch] | alone [cores busy] | 2 side by side [s/epoch] | 2 side by side [cores busy] | epochs/s of the machine: alone → 2 side by side |",
        "|---|---|---|---|---|---|",
    ]
    names = {"keras": "Keras' numpy adapter (before)", "batches": "`data.batches` (trials now)"}
    for feed in FEEDS:
        one, two = f[f"{feed}_1"], f[f"{feed}_2"]
        lines.append(f"| {names[feed]} | {one['epoch_seconds']:.3f} | {one['cores']:.2f} | {two['epoch_seconds']:.3f} | {two['cores']:.2f} | "
                     f"{1 / one['epoch_seconds']:.2f} → {2 / two['epoch_seconds']:.2f} |")
    k1, k2, b1, b2 = (f[k]["epoch_seconds"] for k in ("keras_1", "keras_2", "batches_1", "batches_2"))
    lines += [
        "",
        "Keras' adapter autotunes a parallel map and a prefetch on tf.data's own threads: it spends more CPU per epoch",
        f"({k1 * f['keras_1']['cores']:.2f} against {b1 * f['batches_1']['cores']:.2f} CPU-seconds alone), and the training thread "
        f"waits on those threads (a process kept {f['keras_1']['cores']:.2f} of a core busy alone, {f['keras_2']['cores']:.2f} side by side).",
        "`data.batches` gathers each batch by index on one private thread with autotuning off "
        f"({f['batches_1']['cores']:.2f} and {f['batches_2']['cores']:.2f} of a core busy):",
        f"an epoch is {k1 / b1:.2f}× faster alone and {k2 / b2:.2f}× faster side by side. Two bare processes side by side give "
        f"{2 * b1 / b2:.2f}× the epochs of one ({b2 / b1 - 1:+.0%} per epoch).",
    ]
    ln = lanes(data)
    if ln is not None:
        slow, bare = ln["wall_side"] / ln["wall_alone"] - 1, b2 / b1 - 1
        if slow > bare + 0.03:
            lines.append(f"A trial in the search (one-off costs left out, above) slows down more side by side ({slow:+.0%}) than a bare "
                         f"training process ({bare:+.0%}): what it shares the cores with besides the other trial is below.")
        else:
            lines.append(f"A trial in the search (one-off costs left out, above) slows down about as much side by side ({slow:+.0%}): "
                         "what holds it back is the cores, not the search around it.")
    return lines + [""]


def cpu_lines(data: dict) -> list[str]:
    """Where the machine's CPU went while each set-up's trials ran (mean over its runs), and in the default search."""
    key = "cpu_seconds_trials_span"
    runs = [r for r in data["throughput"] if r.get(key)]
    if not runs or not data["default"].get(key):
        return []
    cores = int(data["environment"]["machine"].split()[0])
    groups: dict[str, list[dict]] = {}
    for r in runs:
        groups.setdefault(f"concurrency {r['concurrency']}, {r['threads']} thread(s) per trial", []).append(r)
    groups["the default search"] = [data["default"]]
    parts = ("seconds", "trials", "driver", "ray", "other", "machine")
    lines = [
        "**Where the CPU went while trials ran** (from the first trial's start to the last one's end, mean of the set-up's runs; "
        "CPU-seconds from /proc, sampled every 0.5 s: trials = the Ray workers that ran them, Ray = its own processes and "
        "idle workers, other = the rest of the machine: kernel threads, this script):",
        "",
        f"| set-up | span [s] | {cores} cores × span [s] | trials [s] | driver [s] | Ray [s] | other [s] | idle [s] | trials' share of the cores |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    means = {}
    for label, group in groups.items():
        m = means[label] = {k: sum(r[key][k] for r in group) / len(group) for k in parts}
        idle = max(0.0, cores * m["seconds"] - m["machine"])
        lines.append(f"| {label} | {m['seconds']:.0f} | {cores * m['seconds']:.0f} | {m['trials']:.1f} | {m['driver']:.1f} | {m['ray']:.1f} | "
                     f"{m['other']:.1f} | {idle:.0f} | {m['trials'] / (cores * m['seconds']):.0%} |")
    two = next((m for label, m in means.items() if label.startswith("concurrency 2")), None)
    if two:
        rest = two["driver"] + two["ray"] + two["other"]
        lines += [
            "",
            f"With 2 trials side by side, the driver, Ray's processes and the rest of the machine used {rest:.0f} CPU-seconds "
            f"of the trials' {two['seconds']:.0f} s span, {rest / two['seconds']:.2f} of a core on average: time that two trials "
            "share with them, where one trial alone has the second core for it.",
        ]
    return lines + [""]


def dominated_at_finish(timings: list[dict]) -> list[bool]:
    """For each trial (in `timings` order), whether a trial that finished before it had at
    least its val_accuracy and at most its EBOPs, one of them strictly."""
    out = []
    for t in timings:
        earlier = [u for u in timings if u["finished_at"] < t["finished_at"]]
        out.append(any(u["val_accuracy"] >= t["val_accuracy"] and u["ebops"] <= t["ebops"]
                       and (u["val_accuracy"] > t["val_accuracy"] or u["ebops"] < t["ebops"]) for u in earlier))
    return out


def da4ml_lines(s: dict) -> list[str]:
    """da4ml's share of the estimates, and the estimates without it."""
    if "da4ml_seconds" not in s:
        return []
    rest = s["estimate_seconds"] - s["da4ml_seconds"]
    return [
        "",
        f"Of the estimates, {s['da4ml_seconds']:.1%} of the trials' time is da4ml's trace of the whole design (`luts`, `ffs`, "
        f"`latency_*`: the design built in Python, its adder graphs solved); the trace of the activation ranges, both "
        f"accuracies and the DSP/BRAM/FLOPs rules take {rest:.1%}.",
    ]


def dominated_lines(default: dict) -> list[str]:
    """The most that estimating only the trials non-dominated when they finish could save."""
    timings = default["timings"]
    if not all("finished_at" in t and "val_accuracy" in t and "ebops" in t for t in timings):
        return []
    dominated = dominated_at_finish(timings)
    total = sum(t["wall_seconds"] for t in timings)
    part = "da4ml_seconds" if all("da4ml_seconds" in t for t in timings) else "estimate_seconds"
    saved = sum(t.get(part, 0.0) for t, d in zip(timings, dominated) if d)
    estimates = default["split"]["estimate_seconds"]
    what = "da4ml's trace" if part == "da4ml_seconds" else "estimates"
    return [
        "",
        f"Running da4ml only for the trials that are non-dominated when they finish (a dominated point stays dominated) would skip "
        f"{sum(dominated)} of these {len(timings)} trials: {saved:.1f} s of {what}, {saved / total:.1%} of the trials' time, "
        f"leaving the estimates at {estimates - saved / total:.1%}.",
    ]


def write_markdown(data: dict, path: Path, image: str) -> None:
    d, s = data["default"], data["default"]["split"]
    epochs = f", {d['epochs_trained']:.0f} epochs" if d.get("epochs_trained") else ""
    lines = [
        "## Speed (`scripts/bench_speed.py`)",
        "",
        f"Machine: {data['environment']['machine']}.",
        "",
        f"![speed]({image})",
        "",
        "**Concurrency**: the same 8 trials (digits_cnn, random sampler, seed 0, 30 epochs), trials per minute between",
        "the first trial's start and the last one's end (Ray's start-up left out).",
        "",
        "| concurrency | TF threads per trial | run | trials | span [s] | trials / min | command wall [s] |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in data["throughput"]:
        lines.append(f"| {r['concurrency']} | {r['threads']} | {r.get('repeat', 0) + 1} | {r['trials']} | {r['trials_span_seconds']:.1f} | "
                     f"{r['trials_per_minute']:.2f} | {r['wall_seconds']:.0f} |")
    lines += [
        "",
        "Speed-ups below are between the set-ups' mean rates.",
        "",
        "Speed-up of 2 concurrent trials over 1, each with one TensorFlow thread (how trials scale over the cores, the",
        f"issue's target ≥ 1.8×): **{data['speedup']:.2f}×**. Over one trial given both cores: "
        f"**{data['speedup_vs_one_trial_all_cores']:.2f}×**; TensorFlow's own speed-up from a second thread on these "
        f"small models is {data['tf_thread_speedup']:.2f}×, so that ratio cannot exceed 2 / {data['tf_thread_speedup']:.2f} = "
        f"{2 / data['tf_thread_speedup']:.2f}×: running trials side by side is the better use of the cores.",
        *lanes_lines(data),
        "",
        *feed_lines(data),
        *cpu_lines(data),
        f"**The default search** (README command 1: digits_cnn, {_default_words(d.get('space'))}): "
        f"**{d['wall_seconds']:.0f} s** in total ({d['trials']} trials{epochs}), peak memory **{d['peak_rss_tree_gb']:.2f} GB** "
        f"summed RSS of the whole process tree (driver + Ray + workers; shared pages counted per process), "
        f"{d['peak_rss_driver_gb']:.2f} GB the driver alone.",
        *phase_lines(d),
        "",
        "Where its trials' wall time went (sum over trials; the driver's view, from Tune's start of a trial to its end):",
        "",
        "| scheduling (Ray: actor, reports, checkpoint) | set-up (imports, build, compile) | training | harvesting | estimates (trace, accuracy, cost models: the product's work) | tracking (MLflow, driver) | orchestration = scheduling + tracking (target < 5 %) |",
        "|---|---|---|---|---|---|---|",
        f"| {s['scheduling_seconds']:.1%} | {s['setup_seconds']:.1%} | {s['train_seconds']:.1%} | {s['harvest_seconds']:.1%} | "
        f"{s['estimate_seconds']:.1%} | {s['tracking_seconds']:.1%} | **{s['orchestration']:.1%}** |",
        "",
        f"Mean trial wall time {s['trial_wall_mean_seconds']:.1f} s. Tracking runs in the driver, between Tune's events, so it",
        "delays the next trial's start rather than the trial itself; it is counted against the trial it logs.",
        *da4ml_lines(s),
        *dominated_lines(d),
        *cluster_lines(data),
        *engine_lines(data),
    ]
    write_section(path, "bench_speed", "\n".join(lines))


def phase_lines(d: dict) -> list[str]:
    """The default search's time outside its trials, part by part (the driver's own clock)."""
    from hgq_automl.driver import PHASES_AFTER, PHASES_BEFORE

    phases = d.get("phases") or {}
    if not phases:
        return []
    outside = [(label, phases[k]) for k, label in (*PHASES_BEFORE, *PHASES_AFTER) if k in phases]
    return [
        "",
        f"Its time outside the trials (issue #30's target ≤ 10 s): **{sum(v for _, v in outside):.1f} s** of the command's "
        f"{d['wall_seconds']:.0f} s (the driver's own clock; Tune's fit took {phases.get('trials', float('nan')):.1f} s):",
        "",
        "| " + " | ".join(label for label, _ in outside) + " |",
        "|" + "---|" * len(outside),
        "| " + " | ".join(f"{v:.1f}" for _, v in outside) + " |",
    ]


class RayNodes:
    """A 2-node Ray cluster on 127.0.0.1, each node a `ray start --block` process of ours
    with 1 CPU; stopping it terminates those two processes (Ray's reaper takes their
    daemons down with them), nothing else."""

    def __init__(self, folder: Path, port: int = 6390):
        ray_cli = str(Path(sys.executable).parent / "ray")
        self.address = f"127.0.0.1:{port}"
        common = ["--block", "--num-cpus", "1", "--node-ip-address", "127.0.0.1", "--disable-usage-stats"]
        # Ray's token auth, as a cluster runs it: the nodes and every client share one token
        import secrets

        token = folder / "ray_token"
        token.write_text(secrets.token_hex(32))
        token.chmod(0o600)
        self.env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", **self.env}
        self.logs = [open(folder / f"ray_{role}.log", "w") for role in ("head", "worker")]
        self.procs = [subprocess.Popen([ray_cli, "start", "--head", "--port", str(port), "--include-dashboard", "false",
                                        "--temp-dir", str(folder / "ray"), *common], stdout=self.logs[0], stderr=subprocess.STDOUT, env=env)]
        try:
            self._wait(1)
            self.procs.append(subprocess.Popen([ray_cli, "start", "--address", self.address, *common], stdout=self.logs[1], stderr=subprocess.STDOUT, env=env))
            self._wait(2)
        except BaseException:
            self.stop()
            raise

    def _wait(self, cpus: int, timeout: float = 120) -> None:
        probe = f"import ray; ray.init(address={self.address!r}, logging_level='ERROR'); print(int(ray.cluster_resources().get('CPU', 0)))"
        end = time.time() + timeout
        while time.time() < end:
            if any(p.poll() is not None for p in self.procs):
                raise RuntimeError(f"a ray start process exited; see {self.logs[0].name}")
            out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env={**os.environ, **self.env})
            if out.returncode == 0 and out.stdout.strip().splitlines()[-1:] == [str(cpus)]:
                return
            self.probe_error = out.stderr[-2000:]
            time.sleep(2)
        raise RuntimeError(f"the cluster did not reach {cpus} CPUs in {timeout:.0f} s; the last probe said: {getattr(self, 'probe_error', '')}")

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self.logs:
            log.close()


def cluster_benchmark(folder: Path, repeats: int) -> list[dict]:
    """The default search on one local 2-CPU Ray and on a 2-node cluster (RayNodes), interleaved."""
    runs = []
    for repeat in range(repeats):
        for where in ("local", "cluster"):
            name = f"{where}-r{repeat}"
            if where == "local":
                r = run_search(folder, name, ["--cpus", "2"])
            else:
                nodes = RayNodes(folder)
                try:
                    r = run_search(folder, name, ["--address", nodes.address], env_extra=nodes.env)
                finally:
                    nodes.stop()
            r.update(where=where, repeat=repeat)
            runs.append({k: v for k, v in r.items() if k != "timings"})
            print(f"{where} (repeat {repeat + 1}): {r['trials_per_minute']:.2f} trials/min, {r['epochs_per_minute']:.1f} epochs/min, "
                  f"{r['wall_seconds']:.0f} s", flush=True)
    return runs


def cluster_lines(data: dict) -> list[str]:
    runs = data.get("cluster")
    if not runs:
        return []
    lines = [
        "",
        "**Scaling over a cluster** (`--cluster`): the default search (README command 1, harvesting) on one local Ray",
        "with 2 CPUs, and on a Ray cluster of 2 nodes with 1 CPU each on this machine (`ray start --head` + `ray start",
        "--address`, 127.0.0.1), the same command with `--address`; interleaved runs.",
        "",
    ]
    # the default's ramps are paced by its budget (a fixed number of trials): its throughput is epochs, not trials
    key, unit = ("epochs_per_minute", "epochs / min") if all("epochs_per_minute" in r for r in runs) else ("trials_per_minute", "trials / min")
    if key == "epochs_per_minute":
        lines += ["| Ray | run | trials | epochs | span [s] | epochs / min | command wall [s] |", "|---|---|---|---|---|---|---|"]
        lines += [f"| {r['where']} | {r['repeat'] + 1} | {r['trials']} | {r['epochs_trained']:.0f} | {r['trials_span_seconds']:.1f} | "
                  f"{r['epochs_per_minute']:.1f} | {r['wall_seconds']:.0f} |" for r in runs]
    else:
        lines += ["| Ray | run | trials | span [s] | trials / min | command wall [s] |", "|---|---|---|---|---|---|"]
        lines += [f"| {r['where']} | {r['repeat'] + 1} | {r['trials']} | {r['trials_span_seconds']:.1f} | {r['trials_per_minute']:.2f} | "
                  f"{r['wall_seconds']:.0f} |" for r in runs]
    rate = {w: [r[key] for r in runs if r["where"] == w] for w in ("local", "cluster")}
    wall = {w: [r["wall_seconds"] for r in runs if r["where"] == w] for w in ("local", "cluster")}
    ratio = np.mean(rate["cluster"]) / np.mean(rate["local"])
    lines += [
        "",
        f"Throughput over the cluster: **{ratio:.2f}×** the local Ray's (mean {np.mean(rate['cluster']):.2f} against "
        f"{np.mean(rate['local']):.2f} {unit}; runs {min(rate['cluster']):.2f}–{max(rate['cluster']):.2f} and "
        f"{min(rate['local']):.2f}–{max(rate['local']):.2f}); the command's wall time {np.mean(wall['cluster']):.0f} s against "
        f"{np.mean(wall['local']):.0f} s (a cluster's start-up is not in it: the nodes were up before). "
        f"Target: a loss below 10 % ({'met' if ratio > 0.9 else 'not met'}"
        + (", by one run each: within this machine's run-to-run noise, see the default search's wall time above; "
           "`--cluster --repeats N` measures more)." if len(rate["local"]) < 2 else ")."),
    ]
    return lines


#: The training engines compared by `--engines`: round 2's (the package at BASE_COMMIT,
#: TensorFlow with its tf.data feed), and this checkout's on each backend; `jax-cold` starts
#: from an empty XLA compilation cache, `jax` from the one its cold run of the repeat filled.
ENGINES = ("old", "tensorflow", "jax-cold", "jax")
BASE_COMMIT = "a9a72de"
ENGINE_EPOCHS = {"digits_cnn": 200, "mnist_cnn": 20}


def engine_space(folder: Path, space: str) -> Path:
    """The shipped space with a fixed number of epochs and no time budget (same model, cores
    and epochs for every engine; both of the default's ramps, 2 trials side by side)."""
    import yaml

    # the shipped file as written (both engines read it: no key the old one lacks)
    raw = yaml.safe_load((REPO / "search_spaces" / f"{space}.yaml").read_text())
    raw["parameters"]["epochs"] = ENGINE_EPOCHS[space]
    raw["search"].pop("time_budget_s", None)
    if space == "mnist_cnn":
        raw["dataset"]["max_samples"] = 6000
    path = folder / f"{space}-engines.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _engine_record(r: dict, dataset: str, engine: str, repeat: int) -> dict:
    """A search's measurement (`run_search`) with its engine's figures: epochs per
    trial-second (all epochs over all trial_seconds), mean first epoch, trial time, accuracy."""
    t = r["timings"]
    r.update(
        dataset=dataset, engine=engine, repeat=repeat,
        epochs_per_trial_second=sum(x["epochs_trained"] for x in t) / sum(x["trial_seconds"] for x in t),
        first_epoch_seconds=float(np.mean([x["first_epoch_seconds"] for x in t])) if all("first_epoch_seconds" in x for x in t) else None,
        trial_seconds=float(np.mean([x["trial_seconds"] for x in t])),
        val_accuracy=float(np.mean([x["val_accuracy"] for x in t])),
    )
    return {k: v for k, v in r.items() if k != "cpu_seconds_trials_span"}


def engine_default(folder: Path, repeats: int) -> list[dict]:
    """The default search itself (the shipped digits_cnn: 2 harvesting ramps side by side in
    its 135-s time budget, which paces them), on round 2's engine and on this one (JAX,
    compilation cache filled by a first search), `repeats` times, interleaved. The shipped
    space's epochs are more than either engine fits in the budget."""
    old = folder / "old"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(old), BASE_COMMIT], check=True, capture_output=True)
    cache = folder / "xla-default"
    runs = []
    try:
        run_search(folder, "prime", ["--cpus", "2", "--time-budget", "20"], env_extra={"JAX_COMPILATION_CACHE_DIR": str(cache)})
        for repeat in range(repeats):
            for engine in ("old", "jax"):
                name = f"default-{engine}-r{repeat}"
                args = ["--cpus", "2", "--seed", str(repeat)]
                if engine == "old":
                    r = run_search(folder, name, args, code_root=old)
                else:
                    r = run_search(folder, name, args, env_extra={"JAX_COMPILATION_CACHE_DIR": str(cache)})
                runs.append(_engine_record(r, "digits_cnn (default)", engine, repeat))
                print(f"{name}: {r['epochs_per_trial_second']:.2f} epochs per trial-second, {r['epochs_trained']:.0f} epochs, "
                      f"start-up {r['startup_seconds']:.1f} s, wind-down {r['winddown_seconds']:.1f} s, command {r['wall_seconds']:.0f} s", flush=True)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)], capture_output=True)
    return runs


def engine_benchmark(folder: Path, repeats: int) -> list[dict]:
    """Each engine (ENGINES) on digits (`repeats` times) and MNIST (once: 6000 of the shared
    10k test file, the space's own splits), interleaved; the old engine from a git worktree
    of BASE_COMMIT. Measured per search: epochs per trial-second (each trial's epochs over its
    whole `trial_seconds`: set-up, compilation, the validation pass, harvest checks,
    estimates), the first epoch, memory per trial worker, and the time outside the trials."""
    old = folder / "old"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(old), BASE_COMMIT], check=True, capture_output=True)
    runs = []
    try:
        mnist = REPO.parent / "shared" / "data" / "mnist"
        for dataset, n in (("digits_cnn", repeats), ("mnist_cnn", 1)):
            space = engine_space(folder, dataset)
            data_args = ["--data", str(mnist)] if dataset == "mnist_cnn" else []
            for repeat in range(n):
                cache = folder / f"xla-{dataset}-{repeat}"
                for engine in ENGINES:
                    name = f"{dataset}-{engine}-r{repeat}"
                    args = ["--space", str(space), "--cpus", "2", "--seed", str(repeat), *data_args]
                    env = {"JAX_COMPILATION_CACHE_DIR": str(cache)}
                    if engine == "old":
                        r = run_search(folder, name, args, code_root=old)
                    else:
                        backend = "tensorflow" if engine == "tensorflow" else "jax"
                        r = run_search(folder, name, [*args, "--backend", backend], env_extra=env)
                    runs.append(_engine_record(r, dataset, engine, repeat))
                    print(f"{name}: {r['epochs_per_trial_second']:.2f} epochs per trial-second, trial {r['trial_seconds']:.1f} s, "
                          f"worker peak {r['peak_rss_trial_worker_gb']:.2f} GB, start-up {r['startup_seconds']:.1f} s, "
                          f"wind-down {r['winddown_seconds']:.1f} s, command {r['wall_seconds']:.0f} s", flush=True)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)], capture_output=True)
    return runs


def _mean_spread(values: list[float], fmt: str = ".2f") -> str:
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{np.mean(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def engine_lines(data: dict) -> list[str]:
    runs = data.get("engines")
    if not runs:
        return []
    lines = [
        "",
        f"**Training engines** (`--engines`): round 2's engine (the package at {BASE_COMMIT}: TensorFlow, tf.data) against this",
        "checkout's on TensorFlow and on JAX, launched in one run, interleaved: the shipped space's two harvesting ramps side by",
        f"side with a fixed number of epochs and no time budget (digits {ENGINE_EPOCHS['digits_cnn']} epochs; MNIST "
        f"{ENGINE_EPOCHS['mnist_cnn']} epochs on 6000 samples of the shared 10k file), `--cpus 2`, one thread per trial. *Epochs per",
        "trial-second* = the trials' epochs over their whole `trial_seconds` (imports, model build, compilation, the validation",
        "pass, harvest checks, the final estimates and da4ml). `jax-cold` starts from an empty XLA compilation cache, `jax` from",
        "the one its cold run filled (a user's second search). Means over runs (min–max).",
        "",
        "`digits_cnn (default)` is the default search itself (`--engines-default`): the shipped space, its 135-s budget pacing",
        "the ramps (round 2's engine runs its own shipped space, 1000 epochs; this one 5000: more than either fits). *Other CPU* is",
        "the CPU time the rest of the machine used during the run: other work on these shared cores slows the run it overlaps.",
        "",
        "| dataset | engine | runs | epochs / trial-s | vs old | trial [s] | first epoch [s] | worker peak RSS [GB] | start-up [s] | wind-down [s] | command [s] | other CPU [s] |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    runs = runs + data.get("engines_default", [])
    for dataset in ("digits_cnn (default)", "digits_cnn", "mnist_cnn"):
        old = [r["epochs_per_trial_second"] for r in runs if r["dataset"] == dataset and r["engine"] == "old"]
        for engine in ENGINES:
            sel = [r for r in runs if r["dataset"] == dataset and r["engine"] == engine]
            if not sel:
                continue
            rate = [r["epochs_per_trial_second"] for r in sel]
            first = [r["first_epoch_seconds"] for r in sel if r.get("first_epoch_seconds") is not None]
            lines.append(
                f"| {dataset} | {engine} | {len(sel)} | {_mean_spread(rate)} | {np.mean(rate) / np.mean(old):.2f}× | "
                f"{_mean_spread([r['trial_seconds'] for r in sel], '.1f')} | {_mean_spread(first, '.1f') if first else '–'} | "
                f"{_mean_spread([r['peak_rss_trial_worker_gb'] for r in sel])} | {_mean_spread([r['startup_seconds'] for r in sel], '.1f')} | "
                f"{_mean_spread([r['winddown_seconds'] for r in sel], '.1f')} | {_mean_spread([r['wall_seconds'] for r in sel], '.0f')} | "
                f"{_mean_spread([r['cpu_seconds']['other'] for r in sel], '.0f')} |"
            )
    return lines + [
        "",
        "Read with care: one run per row, on a machine shared with other work (see *other CPU*). In the default's own run the",
        "new engine trained 4.5× the epochs per trial-second, but round 2's engine ran while the machine did 128 CPU-s of other",
        "work and the new one did not, so the ≥ 3× target is not yet established by this run; with fixed epochs (both runs",
        "equally exposed) the gain is 2.1× on digits and 1.7× on MNIST, where a trial's fixed parts (the worker's imports,",
        "compilation, the final estimates) weigh more: a 135-s trial amortises them, a 20-s one does not. A cold compilation",
        "cache costs the first search 5–18 s per trial (the first-epoch column). To do: `--engines --engines-default --repeats 3`",
        "on a quiet machine.",
    ]


def default_space() -> dict:
    """What README command 1 runs: the shipped digits_cnn's search settings."""
    from hgq_automl.space import load_space

    space = load_space("digits_cnn")
    epochs = space.parameters["epochs"]
    return {"trials": space.search.trials, "concurrency": space.search.concurrency, "time_budget_s": space.search.time_budget_s,
            "harvest": bool(space.harvest), "epochs": epochs.value if epochs.kind == "fixed" else None}


def _default_words(space: dict | None) -> str:
    if not space:  # runs recorded before the space was: the default of that time
        return "up to 12 harvesting trials × 50 epochs, 2 at a time, in the trials' 135-s time budget"
    return (f"{space['trials']} {'harvesting ' if space['harvest'] else ''}trials × {space['epochs']} epochs, {space['concurrency']} at a time, "
            f"in the trials' {space['time_budget_s']:g}-s time budget, which paces their beta ramps")


def default_search(folder: Path) -> dict:
    """README command 1's search, measured (see run_search), with its trials' time split."""
    default = run_search(folder, "default", [])
    default["space"] = default_space()
    default["split"] = split(default["timings"])
    print(f"default search: {default['wall_seconds']:.0f} s, peak {default['peak_rss_tree_gb']:.2f} GB", flush=True)
    return default


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "benchmarks"))
    parser.add_argument("--doc", default=str(REPO / "docs" / "benchmarks.md"))
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each throughput set-up and of the feed comparison (default 2; 3 for the feeds)")
    parser.add_argument("--only-default", action="store_true", help="re-run only the default search; the other parts come from OUT/speed.json")
    parser.add_argument("--cluster", action="store_true", help="run only the cluster scaling part (the other parts come from OUT/speed.json)")
    parser.add_argument("--engines", action="store_true", help="run only the training-engine comparison (the other parts come from OUT/speed.json)")
    parser.add_argument("--engines-default", action="store_true", help="run only the default search on round 2's engine and this one")
    parser.add_argument("--feed-worker", choices=FEEDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.feed_worker:
        feed_worker(args.feed_worker)
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        data = json.loads((out / "speed.json").read_text())
        data["default"]["split"] = split(data["default"]["timings"])  # benchlib's current definitions
    elif args.engines_default:
        data = json.loads((out / "speed.json").read_text())
        with tempfile.TemporaryDirectory(prefix="bench_speed_") as tmp:
            data["engines_default"] = engine_default(Path(tmp), args.repeats)
        (out / "speed.json").write_text(json.dumps(data, indent=1))
    elif args.engines:
        data = json.loads((out / "speed.json").read_text())
        with tempfile.TemporaryDirectory(prefix="bench_speed_") as tmp:
            data["engines"] = engine_benchmark(Path(tmp), args.repeats)
        (out / "speed.json").write_text(json.dumps(data, indent=1))
    elif args.cluster:
        data = json.loads((out / "speed.json").read_text())
        with tempfile.TemporaryDirectory(prefix="bench_speed_") as tmp:
            data["cluster"] = cluster_benchmark(Path(tmp), args.repeats)
        (out / "speed.json").write_text(json.dumps(data, indent=1))
    elif args.only_default:
        data = json.loads((out / "speed.json").read_text())
        with tempfile.TemporaryDirectory(prefix="bench_speed_") as tmp:
            data["default"] = default_search(Path(tmp))
        (out / "speed.json").write_text(json.dumps(data, indent=1))
    else:
        cores = os.cpu_count() or 1
        data = {"environment": {"machine": machine()}}
        with tempfile.TemporaryDirectory(prefix="bench_speed_") as tmp:
            folder = Path(tmp)
            common = ["--sampler", "random", "--seed", "0", "--trials", "8"]
            space = folder / "thirty.yaml"
            import yaml

            from hgq_automl.space import load_space

            raw = load_space("digits_cnn").to_dict()
            raw["parameters"]["epochs"] = 30
            space.write_text(yaml.safe_dump(raw, sort_keys=False))
            data["feed"] = feed_benchmark(max(3, args.repeats))
            data["throughput"] = []
            for repeat in range(args.repeats):
                for k, cpus in ((1, 1), (1, cores), (2, cores)):
                    name = f"c{k}-cpus{cpus}-r{repeat}"
                    r = run_search(folder, name, ["--space", str(space), "--concurrency", str(k), "--cpus", str(cpus), *common])
                    r.update(concurrency=k, threads=max(1, cpus // k), repeat=repeat)
                    data["throughput"].append(r)
                    print(f"concurrency {k}, {r['threads']} threads per trial: {r['trials_per_minute']:.2f} trials/min", flush=True)
            runs = data["throughput"]
            one, one_all, two = mean_rate(runs, 1, 1), mean_rate(runs, 1, cores), mean_rate(runs, 2, max(1, cores // 2))
            data["speedup"] = two / one  # the same threads per trial (1): how trials scale over the cores
            data["speedup_vs_one_trial_all_cores"] = two / one_all
            data["tf_thread_speedup"] = one_all / one
            data["default"] = default_search(folder)
        (out / "speed.json").write_text(json.dumps(data, indent=1))
    plot(data, out / "speed.png")
    write_markdown(data, Path(args.doc), os.path.relpath(out / "speed.png", Path(args.doc).parent))
    print(json.dumps({k: v for k, v in data.items() if k != "default"} | {"default": {k: v for k, v in data["default"].items() if k != "timings"}}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
