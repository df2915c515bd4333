"""Benchmark of hgq_automl.pruning: resource reduction and accuracy change per objective and structure.

For each dataset (scikit-learn digits; the shared MNIST test split, 10 000 images split
7 000 train / 1 000 validation / 2 000 test) one HGQ2 CNN is trained, then pruned from the
same trained weights with every objective (params, flops, dsps, ebops) x structure
(unstructured, structured, pattern), plus saliency ranking for two cases, and the bram
objective (Resource strategy: `strategy` resource in its PruningConfig) x unstructured /
pattern / pattern with saliency. Each pruned model is compared with the same model
unpruned: DSPs (hls4ml Latency rule, and the Resource-strategy pattern rule), BRAM (hls4ml's
rule for the Resource strategy at the same reuse factor, 36-bit-wide blocks; `bram`),
da4ml LUTs, HGQ EBOPs and test accuracy.

The weights start at 12 bits (kbi b0=12) and beta is 0, so that weights stay >= 9 bits
wide: hls4ml maps narrower multiplications to LUTs and counts 0 DSPs for them, which would
make the DSP objective meaningless. reuse_factor is 4, so a DSP pattern holds 4 weights, and
a BRAM word 3 patterns (12-bit weights, 36 bits) or 6 (13-14-bit weights, 78-84 bits).

Single process, ~20 minutes on 2 cores (`--only-bram`: ~5 minutes, runs only the bram
cases and merges them into the existing pruning.json):
    PYTHONPATH=. python scripts/bench_pruning.py [--out benchmarks] [--quick] [--only-bram] [--replot]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "data" / "mnist"
OBJECTIVES = ("params", "flops", "dsps", "ebops")
#: The bram objective's cases: weights sit in BRAM only under the Resource strategy.
BRAM_CASES = [("bram", "unstructured", "magnitude"), ("bram", "pattern", "magnitude"), ("bram", "pattern", "saliency")]
STRUCTURES = ("unstructured", "structured", "pattern")
REUSE_FACTOR = 4

DATASETS = {
    "digits": {
        "dataset": {"name": "digits"},
        "model": {"family": "cnn", "input_shape": [8, 8], "conv_layers": 1, "dense_layers": 1},
        "parameters": {"filters_1": 8, "units_1": 32, "epochs": 40, "beta": 0.0, "learning_rate": 0.005, "batch_size": 32},
    },
    "mnist": {
        "dataset": {"name": "mnist", "path": str(MNIST), "val_fraction": 0.1, "test_fraction": 0.2},
        "model": {"family": "cnn", "input_shape": [28, 28], "input_pool": 2, "conv_layers": 1, "dense_layers": 1},
        "parameters": {"filters_1": 4, "units_1": 16, "epochs": 15, "beta": 0.0, "learning_rate": 0.005, "batch_size": 64},
    },
}


def measure(model, data, reuse_factor: int) -> dict:
    from hgq.utils import trace_minmax

    from hgq_automl.estimates import bram_estimate, estimate, weight_layers, weight_width
    from hgq_automl.pruning import layer_sparsity, pattern_dsps, total_sparsity
    from hgq_automl.trial import accuracy

    weights = model.get_weights()
    ebops = trace_minmax(model, data.x_train, batch_size=4096)
    layers = weight_layers(model)
    out = {
        "val_accuracy": accuracy(model, data.x_val, data.y_val),
        "test_accuracy": accuracy(model, data.x_test, data.y_test),
        "ebops": float(ebops),
        **estimate(model, reuse_factor, "latency"),
        "dsps_resource": sum(pattern_dsps(layer, reuse_factor) for layer in layers),
        # estimate()'s bram is 0 under the latency strategy; this is the Resource strategy's
        "bram": bram_estimate(layers, reuse_factor, "resource"),
        "weight_bits": {layer.name: weight_width(layer.kernel) for layer in layers},
        "sparsity": total_sparsity(model),
        "layer_sparsity": layer_sparsity(model),
    }
    model.set_weights(weights)  # undo trace_minmax's activation ranges before more training
    return out


def reduction(before: float, after: float) -> float:
    return 1.0 - after / before if before > 0 else 0.0


def run_dataset(name: str, raw: dict, cases: list[tuple[str, str, str]], final_sparsity: float, steps: int, epochs: int) -> dict:
    import keras
    from hgq.config import QuantizerConfigScope

    from hgq_automl.data import load_dataset
    from hgq_automl.pruning import PruningConfig, prune
    from hgq_automl.space import parse_space
    from hgq_automl.trial import run_trial

    space = parse_space(raw, f"bench:{name}")
    data = load_dataset(space.dataset)
    params = space.resolve({})
    start = time.perf_counter()
    with QuantizerConfigScope(place="weight", q_type="kbi", b0=12, overflow_mode="SAT_SYM"):
        _, model = run_trial(space, {}, data, seed=0, threads=2)
    train_seconds = time.perf_counter() - start
    base = measure(model, data, REUSE_FACTOR)
    base_weights = model.get_weights()
    print(f"[{name}] unpruned: acc {base['test_accuracy']:.4f} dsps {base['dsps']} dsps_resource {base['dsps_resource']} bram {base['bram']} "
          f"luts {base['luts']:.0f} ebops {base['ebops']:.0f} bits {base['weight_bits']} ({train_seconds:.0f} s)", flush=True)
    runs = []
    for objective, structure, importance in cases:
        model.set_weights(base_weights)
        strategy = "resource" if objective == "bram" else "latency"
        config = PruningConfig("polynomial", final_sparsity, steps, structure, objective, importance, epochs, 0.98, REUSE_FACTOR, strategy)
        keras.utils.set_random_seed(1)
        start = time.perf_counter()
        result = prune(model, data, config, float(params["learning_rate"]), int(params["batch_size"]))
        seconds = time.perf_counter() - start
        after = measure(model, data, REUSE_FACTOR)
        run = {
            "objective": objective,
            "structure": structure,
            "importance": importance,
            "strategy": strategy,
            "kept_target_sparsity": result.kept_sparsity,
            "steps": result.history,
            "seconds": seconds,
            **{k: after[k] for k in ("val_accuracy", "test_accuracy", "ebops", "luts", "dsps", "dsps_resource", "bram", "sparsity", "layer_sparsity", "weight_bits")},
            "accuracy_change": after["test_accuracy"] - base["test_accuracy"],
            **{f"{m}_reduction": reduction(base[m], after[m]) for m in ("dsps", "dsps_resource", "bram", "luts", "ebops")},
        }
        runs.append(run)
        print(f"[{name}] {objective:6s} {structure:12s} {importance:9s} target {result.kept_sparsity:.2f} "
              f"sparsity {run['sparsity']:.2f} acc {run['accuracy_change']:+.4f} dsps -{run['dsps_reduction']:.0%} "
              f"dsps_res -{run['dsps_resource_reduction']:.0%} bram -{run['bram_reduction']:.0%} luts -{run['luts_reduction']:.0%} ebops -{run['ebops_reduction']:.0%} ({seconds:.0f} s)", flush=True)
    sizes = data.sizes()
    return {"space": space.to_dict(), "splits": sizes, "train_seconds": train_seconds, "unpruned": base, "runs": runs}


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["datasets"])
    fig, axes = plt.subplots(len(names), 1, figsize=(13, 4.2 * len(names)), squeeze=False)
    metrics = [("dsps_reduction", "DSPs (Latency rule)"), ("dsps_resource_reduction", "DSPs (Resource/pattern rule)"), ("bram_reduction", "BRAM (Resource rule)"),
               ("luts_reduction", "LUTs (da4ml)"), ("ebops_reduction", "EBOPs")]
    for ax, name in zip(axes[:, 0], names):
        runs = results["datasets"][name]["runs"]
        short = {"unstructured": "unstruct.", "structured": "struct.", "pattern": "pattern"}
        labels = [f"{r['objective']}\n{short[r['structure']]}{'*' if r['importance'] == 'saliency' else ''}" for r in runs]
        x = np.arange(len(runs))
        width = 0.16
        for i, (key, label) in enumerate(metrics):
            ax.bar(x + (i - 2) * width, [100 * r.get(key, np.nan) for r in runs], width, label=label)
        for xi, r in zip(x, runs):
            ax.annotate(f"{100 * r['accuracy_change']:+.1f}", (xi, 2), ha="center", fontsize=7, color="black")
        ax.axhspan(55, 92, color="grey", alpha=0.12, label="hls4ml headline: 55-92 % fewer DSPs")
        ax.axhline(81, color="grey", linestyle="--", linewidth=0.8, label="hls4ml headline: up to 81 % fewer BRAM")
        ax.set_xticks(x, labels, fontsize=7)
        ax.set_ylabel("reduction vs unpruned [%]")
        ax.set_title(f"{name}: resource reduction per objective / structure (numbers: test accuracy change, points; * saliency)")
        ax.set_ylim(0, 100)
        ax.legend(fontsize=7, ncol=4, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def markdown(results: dict) -> str:
    """The per-dataset tables of docs/benchmarks.md, from pruning.json."""

    def pct(value) -> str:
        return "n/a" if value is None else f"−{100 * value:.0f} %" if value >= 0 else f"+{-100 * value:.0f} %"

    lines = []
    for name, d in results["datasets"].items():
        u = d["unpruned"]
        lines += [
            f"**{name}** ({d['splits']}): unpruned test accuracy {u['test_accuracy']:.4f}, {u['dsps']} DSPs (Latency rule), "
            f"{u['dsps_resource']} DSPs (Resource/pattern rule), {u.get('bram', 'n/a')} BRAM (Resource rule, 36-bit blocks), "
            f"{u['luts']:.0f} LUTs (da4ml), {u['ebops']:.0f} EBOPs, weight widths {u['weight_bits']}",
            "",
            "| objective | structure | importance | kept target | weight sparsity | test acc. change | DSPs (Latency) | DSPs (pattern rule) | BRAM | LUTs | EBOPs | s |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in d["runs"]:
            lines.append(
                f"| {r['objective']} | {r['structure']} | {r['importance']} | {r['kept_target_sparsity']:.2f} | {r['sparsity']:.2f} | "
                f"{100 * r['accuracy_change']:+.1f} pt | {pct(r['dsps_reduction'])} | {pct(r['dsps_resource_reduction'])} | "
                f"{pct(r.get('bram_reduction'))} | {pct(r['luts_reduction'])} | {pct(r['ebops_reduction'])} | {r['seconds']:.0f} |"
            )
        lines.append("")
    return "\n".join(lines)


def merge_bram_runs(previous: dict, new: dict) -> dict:
    """The earlier results with the bram cases of `new` in place of any earlier ones.

    The unpruned model is trained again from the same seed; its BRAM is added to the
    earlier `unpruned` record. If the retrained model differs from the earlier one (test
    accuracy or EBOPs), the new one is kept as `unpruned_bram_runs`, and the bram runs'
    reductions are against it."""
    if previous["settings"]["final_sparsity"] != new["settings"]["final_sparsity"] or previous["settings"]["steps"] != new["settings"]["steps"]:
        raise SystemExit("--only-bram: the settings differ from the earlier pruning.json; run everything instead")
    for name, data in new["datasets"].items():
        old = previous["datasets"][name]
        base = data["unpruned"]
        same = base["test_accuracy"] == old["unpruned"]["test_accuracy"] and base["ebops"] == old["unpruned"]["ebops"]
        print(f"[{name}] retrained unpruned model {'matches' if same else 'DIFFERS from'} the earlier one", flush=True)
        old["unpruned"]["bram"] = base["bram"] if same else None
        if not same:
            old["unpruned_bram_runs"] = base
        old["runs"] = [r for r in old["runs"] if r["objective"] != "bram"] + data["runs"]
    previous["bram_seconds"] = new["seconds"]
    return previous


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "benchmarks"), help="folder for pruning.json and pruning.png")
    parser.add_argument("--quick", action="store_true", help="digits only, two cases (a smoke run)")
    parser.add_argument("--final-sparsity", type=float, default=0.9)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs per pruning step")
    parser.add_argument("--replot", action="store_true", help="only redraw pruning.png from the pruning.json in --out")
    parser.add_argument("--table", action="store_true", help="only print the markdown tables of the pruning.json in --out")
    parser.add_argument("--only-bram", action="store_true", help="run only the bram cases and merge them into the pruning.json in --out")
    args = parser.parse_args()
    if args.table:
        print(markdown(json.loads((Path(args.out) / "pruning.json").read_text())))
        return
    if args.replot:
        out = Path(args.out)
        plot(json.loads((out / "pruning.json").read_text()), out / "pruning.png")
        return

    from hgq_automl.backend import use_backend

    use_backend(os.environ.get("KERAS_BACKEND", "jax"), 2)
    cases = [(o, s, "magnitude") for o in OBJECTIVES for s in STRUCTURES]
    cases += [("params", "unstructured", "saliency"), ("dsps", "pattern", "saliency")]
    cases += BRAM_CASES
    datasets = dict(DATASETS)
    previous = None
    if args.only_bram:
        previous = json.loads((Path(args.out) / "pruning.json").read_text())
        cases = BRAM_CASES
    if args.quick:
        datasets = {"digits": DATASETS["digits"]}
        cases = [("params", "unstructured", "magnitude"), ("dsps", "pattern", "magnitude"), ("bram", "pattern", "magnitude")]
    start = time.perf_counter()
    import hls4ml  # noqa: F401  (for the version only)
    import hgq
    import keras

    results = {
        "settings": {"schedule": "polynomial", "final_sparsity": args.final_sparsity, "steps": args.steps, "epochs_per_step": args.epochs,
                     "rtol": 0.98, "reuse_factor": REUSE_FACTOR, "strategy": "latency (bram objective: resource)", "weight_bits_initial": 13, "beta": 0.0},
        "environment": {"python": platform.python_version(), "keras": keras.__version__, "hgq2": getattr(hgq, "__version__", "?"), "cpus": 2},
        "datasets": {},
    }
    for name, raw in datasets.items():
        results["datasets"][name] = run_dataset(name, raw, cases, args.final_sparsity, args.steps, args.epochs)
    results["seconds"] = time.perf_counter() - start
    if previous is not None:
        results = merge_bram_runs(previous, results)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pruning.json").write_text(json.dumps(results, indent=1, default=float))
    plot(results, out / "pruning.png")
    print(f"wrote {out / 'pruning.json'} and {out / 'pruning.png'} in {results['seconds']:.0f} s")


if __name__ == "__main__":
    main()
