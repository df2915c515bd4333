"""Populations (issue #30 item 4): K members of one architecture trained in one compiled,
vmapped program (hgq_automl.population) versus K separate Keras fits, on one thread.

Member i (seed i) ramps beta log-linearly from 1e-7 to BETA_FINALS[i] over the epochs, in
the population and in its separate fit alike (the first K members span the range at
every K). Each member, once trained, is measured as a trial measures its model: HGQ's
trace_minmax on the training split (the compiled pass), then the EBOPs and the validation
accuracy. Per K and repeat, interleaved in one process: one population run and the separate
fits of the same members. Points per core-second: members' points / the process CPU time
they took (build, compile, training, measurement; `time.process_time`); front points: the
non-dominated ones (max accuracy, min EBOPs) among the K.

    python scripts/bench_population.py --dataset digits --epochs 100 --repeats 2
    python scripts/bench_population.py --dataset mnist --epochs 10 --ks 1,4,8 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if "--cache" in sys.argv:  # XLA's persistent compilation cache, fresh, as trials use it (backend.process_env)
    import tempfile

    os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench_population_xla_")
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: member i's ramp end; ordered so that the first K of them spread over the range at every K
BETA_FINALS = [float(b) for b in np.geomspace(1e-5, 1e-2, 16)[[15, 0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7]]]
BETA_START = 1e-7


def front_mask(acc: np.ndarray, ebops: np.ndarray) -> np.ndarray:
    """Non-dominated points: no other point with accuracy >= and EBOPs <= and one strictly."""
    n = len(acc)
    keep = np.ones(n, bool)
    for i in range(n):
        for j in range(n):
            if j != i and acc[j] >= acc[i] and ebops[j] <= ebops[i] and (acc[j] > acc[i] or ebops[j] < ebops[i]):
                keep[i] = False
                break
    return keep


def hypervolume(acc, ebops, ref_ebops: float) -> float:
    """Area dominated by the points in (accuracy up to 1, log10 EBOPs down from ref), above
    accuracy 0.5: a front's quality in one number (larger is better)."""
    pts = sorted((float(np.log10(max(e, 1.0))), float(a)) for a, e in zip(acc, ebops) if a > 0.5 and e < ref_ebops)
    area, best = 0.0, 0.5
    ref = float(np.log10(ref_ebops))
    # sweep from low EBOPs up: each point adds (ref - e) * (a - best accuracy so far at lower EBOPs)
    for e, a in pts:
        if a > best:
            area += (ref - e) * (a - best)
            best = a
    return area


class Bench:
    def __init__(self, dataset: str, epochs: int):
        import keras  # noqa: F401

        from hgq_automl.data import load_dataset
        from hgq_automl.space import load_space, parse_space

        if dataset == "digits":
            self.space = load_space("digits_cnn")
            config = {"filters_1": 8, "learning_rate": 1e-2, "batch_size": 32, "beta_scale_output": 0.95}
        else:
            import yaml

            raw = yaml.safe_load((ROOT / "search_spaces" / "mnist_cnn.yaml").read_text())
            raw["dataset"].update(path="/work/shared/data/mnist", max_samples=6000)
            self.space = parse_space(raw, base_dir=ROOT / "search_spaces")
            config = {"filters_1": 8, "learning_rate": 1e-2, "batch_size": 64}
        self.data = load_dataset(self.space.dataset)
        self.params = self.space.resolve({**config, "beta": BETA_START, "beta_final": 1e-3, "beta_schedule": "ramp", "epochs": epochs})
        self.epochs = epochs
        self.batch = int(self.params["batch_size"])

    def build(self, seed: int):
        from hgq_automl._compat import set_random_seed
        from hgq_automl.models import build_model

        set_random_seed(seed)
        return build_model(self.space.model, self.params, self.data.input_shape, self.data.n_outputs)

    def compile(self, model) -> None:
        from hgq_automl.models import compile_model

        compile_model(model, self.params["learning_rate"], self.space.task)

    def beta_scales(self) -> dict[str, float]:
        return {k[len("beta_scale_"):]: float(v) for k, v in self.params.items() if k.startswith("beta_scale_")}

    def scales(self, model) -> dict[str, float]:
        from hgq_automl._compat import flatten_layers, layer_beta

        return {l.name: float(self.params.get(f"beta_scale_{l.name}", 1.0)) for l in flatten_layers(model, include_self=False) if layer_beta(l) is not None}

    def schedule(self, i: int):
        from hgq_automl.population import ramp

        return ramp(BETA_START, BETA_FINALS[i], self.epochs)

    def measure(self, model, calls) -> tuple[float, float]:
        from hgq_automl.task import top1_accuracy as top1

        ebops = calls.trace(self.data.x_train)
        return top1(calls.infer(self.data.x_val), self.data.y_val), ebops

    def population(self, k: int, scan: bool = True) -> dict:
        import keras

        from hgq_automl import population as P
        from hgq_automl.compiled import compile_calls

        w0, c0 = time.perf_counter(), time.process_time()
        keras.backend.clear_session()
        np.random.seed(0)
        template, state = P.init_population(self.build, range(k), self.compile, self.beta_scales())
        marks = []
        P.train_population(template, state, [self.schedule(i) for i in range(k)], self.data.x_train, self.data.y_train, self.epochs, self.batch, scan=scan,
                           on_epoch_end=lambda e, s: marks.append((time.perf_counter(), time.process_time())))
        w1, c1 = time.perf_counter(), time.process_time()
        calls = compile_calls(template)
        points = P.measure_members(template, state, lambda model: self.measure(model, calls))
        w2, c2 = time.perf_counter(), time.process_time()
        steady = np.diff([m[0] for m in marks[1:]]) if len(marks) > 2 else np.array([np.nan])
        steady_cpu = (marks[-1][1] - marks[1][1]) / (len(marks) - 2) if len(marks) > 2 else float("nan")
        return {"k": k, "scan": scan, "wall": w2 - w0, "cpu": c2 - c0, "first_epoch_wall": marks[0][0] - w0, "steady_epoch_wall": float(np.median(steady)),
                "steady_epoch_cpu": steady_cpu, "measure_cpu": c2 - c1,
                "measure_wall": w2 - w1, "acc": [p[0] for p in points], "ebops": [p[1] for p in points]}

    def fit(self, i: int) -> dict:
        import keras

        from hgq_automl._compat import flatten_layers, layer_beta, set_layer_beta
        from hgq_automl.compiled import compile_calls

        w0, c0 = time.perf_counter(), time.process_time()
        keras.backend.clear_session()
        model = self.build(i)
        self.compile(model)
        scales = self.scales(model)
        schedule = self.schedule(i)
        marks = []

        class Beta(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                for layer in flatten_layers(self.model, include_self=False):
                    if layer_beta(layer) is not None:
                        set_layer_beta(layer, schedule(epoch) * scales[layer.name])

            def on_epoch_end(self, epoch, logs=None):
                marks.append((time.perf_counter(), time.process_time()))

        np.random.seed(0)
        model.fit(self.data.x_train, self.data.y_train, batch_size=self.batch, epochs=self.epochs, shuffle=True, callbacks=[Beta()], verbose=0)
        w1, c1 = time.perf_counter(), time.process_time()
        acc, ebops = self.measure(model, compile_calls(model))
        w2, c2 = time.perf_counter(), time.process_time()
        steady = np.diff([m[0] for m in marks[1:]]) if len(marks) > 2 else np.array([np.nan])
        steady_cpu = (marks[-1][1] - marks[1][1]) / (len(marks) - 2) if len(marks) > 2 else float("nan")
        return {"i": i, "wall": w2 - w0, "cpu": c2 - c0, "first_epoch_wall": marks[0][0] - w0, "steady_epoch_wall": float(np.median(steady)),
                "steady_epoch_cpu": steady_cpu, "measure_cpu": c2 - c1,
                "measure_wall": w2 - w1, "acc": acc, "ebops": ebops}


def summarize(pops: list[dict], fits: list[dict], ks: list[int], skip_repeats: int = 0) -> dict:
    out = {}
    all_ebops = [e for p in pops for e in p["ebops"]] + [f["ebops"] for f in fits]
    ref = max(all_ebops) * 1.1
    for k in ks:
        runs = [p for p in pops if p["k"] == k]
        rows = []
        for p in runs:
            rep_fits = [f for f in fits if f["repeat"] == p["repeat"] and f["i"] < k]
            if len(rep_fits) < k or p["repeat"] < skip_repeats:
                continue
            pa, pe = np.array(p["acc"]), np.array(p["ebops"])
            fa, fe = np.array([f["acc"] for f in rep_fits]), np.array([f["ebops"] for f in rep_fits])
            pf, ff = int(front_mask(pa, pe).sum()), int(front_mask(fa, fe).sum())
            fcpu = sum(f["cpu"] for f in rep_fits)
            rows.append({
                "repeat": p["repeat"],
                "points_per_cpu_s": {"population": k / p["cpu"], "fits": k / fcpu},
                "front_points": {"population": pf, "fits": ff},
                "front_points_per_cpu_s": {"population": pf / p["cpu"], "fits": ff / fcpu},
                "ratio_front_points_per_cpu_s": (pf / p["cpu"]) / (ff / fcpu),
                "ratio_points_per_cpu_s": fcpu / p["cpu"],
                "member_epochs_per_s_steady": {"population": k / p["steady_epoch_wall"], "fits": float(np.mean([1 / f["steady_epoch_wall"] for f in rep_fits]))},
                "member_epochs_per_cpu_s_steady": {"population": k / p.get("steady_epoch_cpu", np.nan), "fits": float(np.mean([1 / f.get("steady_epoch_cpu", np.nan) for f in rep_fits]))},
                "hypervolume": {"population": hypervolume(pa, pe, ref), "fits": hypervolume(fa, fe, ref)},
                "mean_acc": {"population": float(pa.mean()), "fits": float(fa.mean())},
                "mean_log10_ebops": {"population": float(np.log10(np.maximum(pe, 1)).mean()), "fits": float(np.log10(np.maximum(fe, 1)).mean())},
                "cpu_s": {"population": p["cpu"], "fits": fcpu},
                "first_epoch_wall": {"population": p["first_epoch_wall"], "fit_mean": float(np.mean([f["first_epoch_wall"] for f in rep_fits]))},
            })
        if rows:
            def spread(get):
                vals = [get(r) for r in rows]
                return {"median": float(np.median(vals)), "min": float(np.min(vals)), "max": float(np.max(vals)), "n": len(vals)}

            out[str(k)] = {
                "ratio_front_points_per_cpu_s": spread(lambda r: r["ratio_front_points_per_cpu_s"]),
                "ratio_points_per_cpu_s": spread(lambda r: r["ratio_points_per_cpu_s"]),
                "steady_member_epochs_per_s_population": spread(lambda r: r["member_epochs_per_s_steady"]["population"]),
                "steady_member_epochs_per_s_fit": spread(lambda r: r["member_epochs_per_s_steady"]["fits"]),
                "steady_member_epochs_per_cpu_s_population": spread(lambda r: r["member_epochs_per_cpu_s_steady"]["population"]),
                "steady_member_epochs_per_cpu_s_fit": spread(lambda r: r["member_epochs_per_cpu_s_steady"]["fits"]),
                "hypervolume_population": spread(lambda r: r["hypervolume"]["population"]),
                "hypervolume_fits": spread(lambda r: r["hypervolume"]["fits"]),
                "mean_acc_population": spread(lambda r: r["mean_acc"]["population"]),
                "mean_acc_fits": spread(lambda r: r["mean_acc"]["fits"]),
                "runs": rows,
            }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", choices=["digits", "mnist"], default="digits")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--ks", default="1,4,8,16")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--cache", action="store_true", help="XLA's persistent compilation cache (fresh): repeat 0 compiles, later repeats read it back")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "population.json"))
    args = ap.parse_args()
    ks = [int(k) for k in args.ks.split(",")]
    bench = Bench(args.dataset, args.epochs)
    pops, fits = [], []
    kmax = max(ks)
    for repeat in range(args.repeats):
        done = 0
        for k in ks:  # interleaved: a population, then the separate fits up to its size
            p = bench.population(k)
            p["repeat"] = repeat
            pops.append(p)
            print(f"[{repeat}] population K={k}: cpu {p['cpu']:.1f}s wall {p['wall']:.1f}s first epoch {p['first_epoch_wall']:.1f}s steady {p['steady_epoch_wall'] * 1e3:.1f} ms/epoch "
                  f"acc {np.round(p['acc'], 3).tolist()} ebops {np.round(p['ebops']).tolist()}", flush=True)
            while done < min(k, kmax):
                f = bench.fit(done)
                f["repeat"] = repeat
                fits.append(f)
                print(f"[{repeat}]   fit {done}: cpu {f['cpu']:.1f}s first epoch {f['first_epoch_wall']:.1f}s steady {f['steady_epoch_wall'] * 1e3:.1f} ms/epoch acc {f['acc']:.3f} ebops {f['ebops']:.0f}", flush=True)
                done += 1
    from benchlib import machine

    result = {
        "dataset": args.dataset, "epochs": args.epochs, "batch_size": bench.batch, "train_samples": int(len(bench.data.x_train)),
        "beta_start": BETA_START, "beta_finals": BETA_FINALS[:kmax], "machine": machine(), "threads": 1,
        "compile_cache": args.cache, "summary": summarize(pops, fits, ks),
        "populations": pops, "fits": fits,
    }
    if args.cache and args.repeats > 1:
        result["summary_warm_cache"] = summarize(pops, fits, ks, skip_repeats=1)
    out = Path(args.out)
    existing = json.loads(out.read_text()) if out.exists() else {}
    existing[args.dataset + ("_cache" if args.cache else "")] = result
    out.write_text(json.dumps(existing, indent=1))
    for k, s in result.get("summary_warm_cache", result["summary"]).items():
        print(f"K={k}: front points/cpu-s ratio {s['ratio_front_points_per_cpu_s']}, points/cpu-s ratio {s['ratio_points_per_cpu_s']['median']:.2f}, "
              f"steady member-epochs/s pop {s['steady_member_epochs_per_s_population']['median']:.1f} vs fit {s['steady_member_epochs_per_s_fit']['median']:.1f}; "
              f"HV pop {s['hypervolume_population']['median']:.3f} fits {s['hypervolume_fits']['median']:.3f}")


if __name__ == "__main__":
    main()
