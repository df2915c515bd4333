"""Faults injected into real searches, and what each costs: trials lost, duplicated, wrongly tagged.

Each scenario runs the CLI on a tiny space (digits, 2 epochs, TRIALS trials) with Ray in a
private network namespace (`unshare -n`, as root) and an MLflow SQLite store, injects one
fault for real, recovers the way the user is told to (`--resume`, `sync`), and counts from
MLflow:

- lost: trials of the search without a FINISHED run holding its model;
- duplicated: trial ids with more than one active run, plus metric steps logged twice;
- wrongly tagged: runs whose `pareto=true` disagrees with the logged front (pareto.json),
  plus registry versions that are not front members (or members without a version).

    python scripts/bench_faults.py [--out bench_faults.json] [--trials 3]

Writes the JSON, a bar plot beside it (.png) and its section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import machine, write_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def space(trials: int) -> str:
    return (
        "name: fb\n"
        "dataset: {name: digits, max_samples: 300}\n"
        "model: {family: cnn, input_shape: [8, 8], conv_layers: 1}\n"
        f"search: {{trials: {trials}, concurrency: 1, sampler: random}}\n"
        "harvest: {max_points: 2}\n"
        "parameters:\n"
        "  beta: {type: log_uniform, low: 1.0e-6, high: 1.0e-5}\n"
        "  beta_final: {type: log_uniform, low: 1.0e-3, high: 1.0e-2}\n"
        "  filters_1: {type: int, low: 2, high: 4}\n"
        "  epochs: 3\n"
    )


def _env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return {**env, "PYTHONUNBUFFERED": "1", **(extra or {})}


def _start(folder: Path, args: list[str], extra_env: dict | None = None, kill_at: str | None = None) -> subprocess.Popen:
    """`python -m hgq_automl ARGS` in a private network namespace; with `kill_at` (OP:ROLE:N)
    it SIGKILLs itself before that MLflow write (tests/kill_at_script.py)."""
    program = f"{REPO / 'tests' / 'kill_at_script.py'} {kill_at}" if kill_at else "-m hgq_automl"
    cmd = f"ip link set lo up; exec {sys.executable} {program} " + " ".join(args)
    return subprocess.Popen(
        ["unshare", "-n", "bash", "-c", cmd], cwd=folder, env=_env(extra_env), start_new_session=True,
        stdout=open(folder / "out.txt", "a"), stderr=open(folder / "err.txt", "a"),
    )


def _wait_for(folder: Path, text: str, proc: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if text in (folder / "err.txt").read_text():
            return
        time.sleep(0.3)


#: `tracking-outage`: a real `mlflow server` on 127.0.0.1 in the search's namespace, stopped
#: once the first trial has started and restarted OUTAGE_SECONDS later, while trials run.
OUTAGE_SECONDS = 30
OUTAGE = """\
set -u
ip link set lo up
export PATH={bin}:$PATH
serve() {{
  python -m mlflow server --workers 1 --host 127.0.0.1 --port 5098 --backend-store-uri sqlite:///$PWD/server.db --artifacts-destination $PWD/server-artifacts >> server.log 2>&1 &
  SERVER=$!
  for i in $(seq 1 120); do
    python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5098/health', timeout=2)" 2>/dev/null && return
    sleep 1
  done
}}
serve
python -m hgq_automl search --space fb.yaml --name fb --seed 7 --tracking-uri http://127.0.0.1:5098 >> out.txt 2>> err.txt &
SEARCH=$!
for i in $(seq 1 600); do grep -q "started (0/" err.txt && break; sleep 0.5; done
kill $SERVER; wait $SERVER
sleep {outage}
serve
wait $SEARCH
echo "search-exit-code=$?"
python -m hgq_automl sync fb >> out.txt 2>> err.txt
echo "sync-exit-code=$?"
kill $SERVER; wait $SERVER
"""


def run_scenario(kind: str, trials: int) -> dict:
    """Run one search with the fault `kind`, recover, and count what went wrong."""
    folder = Path(tempfile.mkdtemp(prefix=f"bench-faults-{kind}-"))
    (folder / "fb.yaml").write_text(space(trials))
    (folder / "err.txt").write_text("")
    (folder / "out.txt").write_text("")
    extra: dict = {}
    store = folder / "mlflow.db"
    search = ["search", "--space", "fb.yaml", "--name", "fb", "--seed", "7"]
    start = time.perf_counter()
    if kind == "none":
        _start(folder, search).wait()
    elif kind in ("sigint", "sigterm"):
        proc = _start(folder, search)
        _wait_for(folder, f"1/{trials} done", proc)
        proc.send_signal(signal.SIGINT if kind == "sigint" else signal.SIGTERM)
        proc.wait()
        _start(folder, ["search", "--resume", "fb"]).wait()
    elif kind == "same-name":  # two searches of one name started together: one proceeds, the other exits 2
        procs = [_start(folder, search) for _ in range(2)]
        codes = sorted(p.wait() for p in procs)
        extra["exit_codes"] = codes
    elif kind == "disk-full":  # the storage is a full 64 kB tmpfs: set-up fails (exit 2); the name is used again elsewhere
        mnt = folder / "mnt"
        mnt.mkdir()
        script = (f"set -u; mount -t tmpfs -o size=64k tmpfs {mnt}; dd if=/dev/zero of={mnt}/fill bs=4k 2>/dev/null || true; "
                  f"ip link set lo up; exec {sys.executable} -m hgq_automl {' '.join(search)} --storage {mnt}")
        full = subprocess.run(["unshare", "-m", "-n", "bash", "-c", script], cwd=folder, env=_env(), stdout=open(folder / "out.txt", "a"),
                              stderr=open(folder / "err.txt", "a"), timeout=600)
        again = _start(folder, search)
        extra["exit_codes"] = [full.returncode, again.wait()]
    elif kind == "tracking-outage":
        (folder / "run.sh").write_text(OUTAGE.format(bin=Path(sys.executable).parent, outage=OUTAGE_SECONDS))
        done = subprocess.run(["unshare", "-n", "bash", "run.sh"], cwd=folder, capture_output=True, text=True, env=_env(), timeout=1800)
        extra["exit_codes"] = [int(line.split("=")[1]) for line in done.stdout.splitlines() if "-exit-code=" in line]
        extra["queued"] = "does not answer" in (folder / "err.txt").read_text()
        store = folder / "server.db"
    elif kind.startswith("sigkill"):
        kill_at = {"sigkill-epoch": "log_batch:trial:3", "sigkill-harvest": "log_artifacts:harvest:1", "sigkill-driver": ""}[kind]
        proc = _start(folder, search, kill_at=kill_at or None)
        if not kill_at:  # the whole process group, mid-search
            _wait_for(folder, f"1/{trials} done", proc)
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        _start(folder, ["search", "--resume", "fb"]).wait()
    else:
        raise ValueError(kind)
    seconds = time.perf_counter() - start
    # the fault really happened: the recovery ran as a resume
    resumes = (folder / "err.txt").read_text().count("search fb (resumed)")
    return {"fault": kind, "seconds": round(seconds, 1), "resumes": resumes, **extra, **count(folder, trials, store)}


def _artifacts(folder: Path, run_id: str, path: str) -> Path | None:
    """A run's artifact `path` when a server stored it (`server-artifacts/<experiment>/<run>/artifacts/`)."""
    found = list((folder / "server-artifacts").glob(f"*/{run_id}/artifacts/{path}"))
    return found[0] if found else None


def count(folder: Path, trials: int, store: Path | None = None) -> dict:
    """What went wrong, from the MLflow store (`store`: the SQLite file; a server's artifacts
    are read from its folder)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{store or folder / 'mlflow.db'}")
    served = (folder / "server-artifacts").is_dir()
    experiment = client.get_experiment_by_name("fb")
    runs = client.search_runs([experiment.experiment_id], max_results=5000)
    trial_runs = [r for r in runs if r.data.tags.get("hgq_automl.role") == "trial"]
    finished = {
        r.data.tags["hgq_automl.trial_id"] for r in trial_runs
        if r.info.status == "FINISHED" and (_artifacts(folder, r.info.run_id, "model/MLmodel") if served else client.list_artifacts(r.info.run_id, "model"))
    }
    ids = [r.data.tags.get("hgq_automl.trial_id") for r in runs if r.data.tags.get("hgq_automl.role") in ("trial", "harvest")]
    duplicated = len(ids) - len(set(ids))
    for run in runs:
        if run.data.tags.get("hgq_automl.role") in ("trial", "harvest"):
            steps = [m.step for m in client.get_metric_history(run.info.run_id, "val_accuracy")]
            duplicated += len(steps) - len(set(steps))
    parent = next(r for r in runs if r.data.tags.get("hgq_automl.role") == "search")
    try:
        pareto = _artifacts(folder, parent.info.run_id, "pareto.json") if served else Path(client.download_artifacts(parent.info.run_id, "pareto.json", str(folder)))
        rows = json.loads(pareto.read_text())
    except Exception:  # noqa: BLE001 - no front logged
        rows = []
    members = {row["run_id"] for row in rows}
    tagged = {r.info.run_id for r in runs if r.data.tags.get("pareto") == "true"}
    try:
        versions = {v.run_id for v in client.search_model_versions("name = 'fb'")}
    except Exception:  # noqa: BLE001
        versions = set()
    return {
        "trials": trials,
        "parent_status": parent.info.status,
        "lost": trials - len(finished),
        "duplicated": duplicated,
        "wrongly_tagged": len(tagged ^ members) + len(versions ^ members),
        "runs_not_finished": sum(r.info.status != "FINISHED" for r in runs),
    }


def plot(results: list[dict], path: Path) -> None:
    """Seconds of each scenario (recovery included), labelled with what went wrong."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [r["fault"] for r in results]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bars = ax.bar(range(len(kinds)), [r["seconds"] for r in results], color="tab:blue")
    for bar, r in zip(bars, results):
        label = f"lost {r['lost']}\ndup {r['duplicated']}\ntag {r['wrongly_tagged']}"
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), label, ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(kinds)), kinds)
    ax.set_ylabel("seconds, recovery included")
    ax.set_ylim(0, max(r["seconds"] for r in results) * 1.35)
    ax.set_title(f"Faults injected into a {results[0]['trials']}-trial search: cost and damage after recovery")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def section(data: dict, out: Path) -> str:
    """The section of docs/benchmarks.md: what was counted, the table, the plot."""
    results = data["results"]
    lines = [
        "## Faults (`scripts/bench_faults.py`)", "",
        f"Machine: {data['machine']}. Each fault is injected for real into a search of {results[0]['trials']} trials "
        "(digits, 300 samples, 3 epochs, harvest on, one trial at a time, Ray in `unshare -n`, MLflow SQLite), "
        "then recovered as the user is told (`--resume`). Counted from MLflow after recovery: *lost* = trials "
        "without a FINISHED run holding its model; *duplicated* = trial ids with more than one active run plus "
        "metric steps logged twice; *wrongly tagged* = runs whose `pareto=true` or registry version disagrees "
        "with the logged front. Seconds: the whole scenario, recovery included. `same-name`: two searches of one "
        "name started at once (exit codes of both); `tracking-outage`: the search logs to a real `mlflow server` on "
        f"127.0.0.1, stopped once the first trial has started and restarted {OUTAGE_SECONDS} s later (exit codes of "
        "the search and of the `sync` after it); `disk-full`: the storage is a full 64-kB tmpfs (exit codes of that "
        "search, which must fail at set-up, and of the same name started again on a roomy storage).", "",
        "| fault | resumes | exit codes | lost | duplicated | wrongly tagged | runs not FINISHED | parent run | seconds |", "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['fault']} | {r.get('resumes', '')} | {', '.join(map(str, r.get('exit_codes', []))) or '–'} | {r['lost']} | {r['duplicated']} | {r['wrongly_tagged']} | {r['runs_not_finished']} | {r['parent_status']} | {r['seconds']} |"
        for r in results
    ]
    lines += ["", f"![faults](../benchmarks/{out.with_suffix('.png').name}) (JSON: `benchmarks/{out.name}`)"]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench_faults.json")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--faults", nargs="+", default=["none", "sigint", "sigterm", "sigkill-driver", "sigkill-epoch", "sigkill-harvest", "same-name", "tracking-outage", "disk-full"])
    parser.add_argument("--merge", action="store_true", help="keep the --out JSON's other faults, replacing those run now")
    parser.add_argument("--docs", action="store_true", help="also write the section of docs/benchmarks.md")
    parser.add_argument("--replot", action="store_true", help="run nothing: the plot and docs from the existing --out JSON")
    args = parser.parse_args()
    out = Path(args.out)
    if args.replot:
        data = json.loads(out.read_text())
    else:
        results = []
        for kind in args.faults:
            results.append(run_scenario(kind, args.trials))
            print(json.dumps(results[-1]), flush=True)
        if args.merge and out.exists():
            kept = [r for r in json.loads(out.read_text())["results"] if r["fault"] not in args.faults]
            results = kept + results
        data = {"machine": machine(), "results": results}
        out.write_text(json.dumps(data, indent=2))
    plot(data["results"], out.with_suffix(".png"))
    if args.docs:
        write_section(REPO / "docs" / "benchmarks.md", "bench_faults", section(data, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
