"""Benchmark the cost models against synthesis: da4ml LUT/FF estimates vs yosys, DSP rule vs hls4ml.

Trains a set of HGQ2 models of different sizes (scikit-learn digits, and MNIST from
../shared/data/mnist with 8000 train / 1000 val / 1000 test images), then for each:
- `luts`, `ffs` (da4ml estimates) against `synth_luts`, `synth_ffs` of Debian's yosys
  (`synth_xilinx -family xcup`) on da4ml's pipelined Verilog of the same model;
- the DSP rule (`estimates.layer_dsps`) against the multiplier counts of hls4ml's own
  layer configuration (the weight precision, reuse factor and zero count hls4ml assigns
  when it converts the model, put through its templates' `multiplier_limit`).

Writes benchmarks/estimates.json (one record per model, written after each model),
benchmarks/estimates.png and docs/benchmarks.md. Single process; expect 15-30 minutes.

    PYTHONPATH=. python scripts/bench_estimates.py [--mnist ../shared/data/mnist] [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from benchlib import write_section  # noqa: E402

PART = "xcvu9p-flga2104-2L-e"
CLOCK_NS = 5.0

#: (label, dataset, model section, fixed parameters). Sizes grow with filters, units, and lower beta.
MODELS = [
    ("digits f2 b1e-4", "digits", {"input_shape": [8, 8]}, {"filters_1": 2, "beta": 1e-4, "epochs": 30}),
    ("digits f2 b1e-6", "digits", {"input_shape": [8, 8]}, {"filters_1": 2, "beta": 1e-6, "epochs": 30}),
    ("digits f4 b1e-5", "digits", {"input_shape": [8, 8]}, {"filters_1": 4, "beta": 1e-5, "epochs": 30}),
    ("digits f8 b1e-6", "digits", {"input_shape": [8, 8]}, {"filters_1": 8, "beta": 1e-6, "epochs": 30}),
    ("digits f4 d16 b1e-5", "digits", {"input_shape": [8, 8], "dense_layers": 1}, {"filters_1": 4, "units_1": 16, "beta": 1e-5, "epochs": 30}),
    ("digits f8 d32 b1e-6", "digits", {"input_shape": [8, 8], "dense_layers": 1}, {"filters_1": 8, "units_1": 32, "beta": 1e-6, "epochs": 30}),
    ("mnist f2 b1e-5", "mnist", {"input_shape": [28, 28], "input_pool": 2}, {"filters_1": 2, "beta": 1e-5, "epochs": 10}),
    ("mnist f4 b1e-6", "mnist", {"input_shape": [28, 28], "input_pool": 2}, {"filters_1": 4, "beta": 1e-6, "epochs": 10}),
    ("mnist f4 d16 b1e-5", "mnist", {"input_shape": [28, 28], "input_pool": 2, "dense_layers": 1}, {"filters_1": 4, "units_1": 16, "beta": 1e-5, "epochs": 10}),
    ("mnist f2 b1e-4", "mnist", {"input_shape": [28, 28], "input_pool": 2}, {"filters_1": 2, "beta": 1e-4, "epochs": 10}),
    ("mnist f2 c2 b1e-5", "mnist", {"input_shape": [28, 28], "input_pool": 2, "conv_layers": 2}, {"filters_1": 2, "filters_2": 4, "beta": 1e-5, "epochs": 10}),
]

DSP_CASES = [("latency", 1), ("latency", 4), ("resource", 1), ("resource", 4)]


def hls4ml_dsps(model, strategy: str, reuse_factor: int, folder: str) -> int:
    """Multipliers of hls4ml's own layer configuration: its weight precision, (adjusted) reuse factor and zeros."""
    import hls4ml

    hm = hls4ml.converters.convert_from_keras_model(
        model, output_dir=folder, backend="Vitis", io_type="io_parallel", part=PART,
        hls_config={"Model": {"Strategy": strategy.capitalize(), "ReuseFactor": reuse_factor, "Precision": "fixed<16,6>"}},
    )
    total = 0
    for layer in hm.get_layers():
        w = layer.weights.get("weight")
        if w is None or w.type.precision.width < 9:
            continue
        n, rf = int(w.data.size), int(layer.get_attr("reuse_factor"))
        mults = math.ceil(n / rf) - (int(w.nzeros) // rf if strategy == "latency" else 0)
        total += mults * int(layer.get_attr("parallelization_factor", 1) or 1)
    return total


def run_one(label, dataset, model_spec, params, mnist_path, workdir: Path) -> dict:
    from hgq_automl.data import load_dataset
    from hgq_automl.estimates import dsp_estimate, weight_layers
    from hgq_automl.hardware.rtl import write_verilog, yosys_synth
    from hgq_automl.estimates import da4ml_estimate
    from hgq_automl.space import parse_space
    from hgq_automl.trial import run_trial

    ds = {"name": dataset}
    if dataset == "mnist":
        ds.update(path=str(mnist_path), max_samples=10000, val_fraction=0.1, test_fraction=0.1)
    space = parse_space({"dataset": ds, "model": {"family": "cnn", **model_spec}, "parameters": params}, label)
    data = load_dataset(space.dataset)
    final, model = run_trial(space, {}, data, threads=2)
    da = da4ml_estimate(model, CLOCK_NS)
    design = write_verilog(da.comb, workdir / "rtl", PART, CLOCK_NS)
    synth = yosys_synth(design, "xcup")
    layers = weight_layers(model)
    dsps = {}
    for strategy, rf in DSP_CASES:
        dsps[f"{strategy}_rf{rf}"] = {
            "rule": dsp_estimate(layers, rf, strategy),
            "hls4ml": hls4ml_dsps(model, strategy, rf, str(workdir / f"hls_{strategy}_{rf}")),
        }
    return {
        "label": label, "dataset": dataset, "params": final["params"], "ebops": final["ebops"],
        "test_accuracy": final["test_accuracy"], "luts": da.luts, "ffs": da.ffs, "latency_cycles": da.latency_cycles,
        **synth, "dsps": dsps,
    }


def rel_err(est: float, ref: float) -> float:
    return abs(est - ref) / ref if ref else (0.0 if est == ref else math.inf)


def summarize(records: list[dict]) -> dict:
    out = {}
    for est, ref in (("luts", "synth_luts"), ("ffs", "synth_ffs")):
        errs = [rel_err(r[est], r[ref]) for r in records]
        signed = [(r[est] - r[ref]) / r[ref] for r in records if r[ref]]
        out[est] = {"median_rel_error": statistics.median(errs), "worst_rel_error": max(errs), "median_signed": statistics.median(signed)}
    cases = [c for r in records for c in r["dsps"].values()]
    out["dsps"] = {
        "cases": len(cases),
        "agree": sum(c["rule"] == c["hls4ml"] for c in cases),
        "worst_abs_diff": max(abs(c["rule"] - c["hls4ml"]) for c in cases),
        "nonzero_cases": sum(c["hls4ml"] > 0 for c in cases),
    }
    return out


def plot(records: list[dict], path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), dpi=120)
    for ax, (est, ref, unit) in zip(axes, (("luts", "synth_luts", "LUTs"), ("ffs", "synth_ffs", "FFs"))):
        xs, ys = [r[ref] for r in records], [r[est] for r in records]
        colors = ["#1f77b4" if r["dataset"] == "digits" else "#d1495b" for r in records]
        ax.scatter(xs, ys, c=colors, s=30, zorder=3)
        lo, hi = min(xs + ys) * 0.8, max(xs + ys) * 1.25
        ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, label="estimate = yosys")
        ax.fill_between([lo, hi], [lo * 0.9, hi * 0.9], [lo * 1.1, hi * 1.1], color="grey", alpha=0.2, label="±10 %")
        ax.set_xscale("log"), ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(f"yosys synth_xilinx [{unit}]"), ax.set_ylabel(f"da4ml estimate [{unit}]")
        ax.set_title(f"{unit}: da4ml vs yosys (blue digits, red MNIST)")
        ax.grid(True, alpha=0.3), ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_markdown(records: list[dict], summary: dict, path: Path, png: str) -> None:
    lines = [
        "## Cost models (`scripts/bench_estimates.py`)",
        "",
        "Generated by `scripts/bench_estimates.py` (do not edit by hand): "
        f"{len(records)} HGQ2 CNNs trained on scikit-learn digits and on MNIST (8000 train / 1000 val / 1000 test "
        f"images of `../shared/data/mnist`), part {PART}, clock {CLOCK_NS:g} ns. Raw data: `benchmarks/estimates.json`.",
        "",
        "### da4ml estimates vs yosys (Debian yosys, `synth_xilinx -family xcup -top model -flatten`)",
        "",
        "Relative error = |estimate - yosys| / yosys.",
        "",
        "| estimate | median rel. error | worst rel. error | median signed (estimate - yosys)/yosys |",
        "|---|---|---|---|",
    ]
    for m in ("luts", "ffs"):
        s = summary[m]
        lines.append(f"| `{m}` vs `synth_{m}` | {s['median_rel_error']:.1%} | {s['worst_rel_error']:.1%} | {s['median_signed']:+.1%} |")
    lines += [
        "",
        "yosys counts LUT1-6 and SRL cells as LUTs and FD* cells as FFs. The FF estimate is da4ml's pipeline "
        "register bits; it runs 15-22 % high on the MNIST models (not investigated; possibly registers yosys "
        "merges or removes as constant or duplicate).",
        "",
        f"![estimates vs yosys]({png})",
        "", "| model | params | EBOPs | test acc. | luts | synth_luts | ffs | synth_ffs | synth_carry | yosys [s] |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        lines.append(
            f"| {r['label']} | {r['params']} | {r['ebops']:.0f} | {r['test_accuracy']:.3f} | {r['luts']:.0f} | {r['synth_luts']} | "
            f"{r['ffs']} | {r['synth_ffs']} | {r['synth_carry']} | {r['synth_seconds']:.0f} |"
        )
    d = summary["dsps"]
    lines += [
        "",
        "### DSP rule vs hls4ml",
        "",
        "hls4ml reports DSPs only from Vivado/Vitis synthesis, which is not available here. What it does give is the "
        "layer configuration it converts to: the weight precision it infers from HGQ2's quantized weights, the reuse "
        "factor it accepts (it moves an invalid one of the resource strategy to a valid one) and the zero weights; its "
        "templates turn these into `multiplier_limit` (latency: ceil(n/RF) - zeros//RF; resource: ceil(n/RF); 0 below "
        "9-bit weights). The rule (`estimates.layer_dsps`) computes the same from the Keras model alone.",
        "",
        f"{d['agree']} of {d['cases']} (model, strategy, reuse factor) cases agree; worst absolute difference "
        f"{d['worst_abs_diff']} DSPs; hls4ml's configuration gives a non-zero count in {d['nonzero_cases']} cases. "
        "This checks the inputs of the rule (weight width, zeros, reuse factor) against hls4ml's own; it is not a "
        "measurement of DSPs after Vivado/Vitis synthesis, which may map some >= 9-bit products to LUTs or pack two "
        "narrow ones into one DSP.",
        "",
        "| model | " + " | ".join(f"{s} RF{rf} (rule / hls4ml)" for s, rf in DSP_CASES) + " |",
        "|---|" + "---|" * len(DSP_CASES),
    ]
    for r in records:
        lines.append(f"| {r['label']} | " + " | ".join(f"{r['dsps'][f'{s}_rf{rf}']['rule']} / {r['dsps'][f'{s}_rf{rf}']['hls4ml']}" for s, rf in DSP_CASES) + " |")
    write_section(path, "bench_estimates", "\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", default=str(REPO.parent / "shared" / "data" / "mnist"))
    parser.add_argument("--out", default=str(REPO / "benchmarks"))
    parser.add_argument("--doc", default=str(REPO / "docs" / "benchmarks.md"))
    parser.add_argument("--quick", action="store_true", help="the first two models only")
    parser.add_argument("--report-only", action="store_true", help="no training: summarize the records already in OUT/estimates.json")
    parser.add_argument("--resume", action="store_true", help="keep the records in OUT/estimates.json and run only the models missing there")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = []
    if args.report_only or args.resume:
        saved = json.loads((out / "estimates.json").read_text())
        records = saved["records"] if isinstance(saved, dict) else saved
    done = {r["label"] for r in records}
    todo = [] if args.report_only else MODELS[:2] if args.quick else MODELS
    for label, dataset, model_spec, params in [m for m in todo if m[0] not in done]:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            rec = run_one(label, dataset, model_spec, params, args.mnist, Path(tmp))
        records.append(rec)
        (out / "estimates.json").write_text(json.dumps(records, indent=2))
        print(f"{label}: luts {rec['luts']:.0f} vs {rec['synth_luts']}, ffs {rec['ffs']} vs {rec['synth_ffs']} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    summary = summarize(records)
    (out / "estimates.json").write_text(json.dumps({"summary": summary, "records": records}, indent=2))
    plot(records, out / "estimates.png")
    write_markdown(records, summary, Path(args.doc), os.path.relpath(out / "estimates.png", Path(args.doc).parent))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
