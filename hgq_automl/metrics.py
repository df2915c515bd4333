"""The metric vocabulary: one name per quantity, with its unit and preferred direction.

The same names appear in what a trial reports, in MLflow metrics, in the search-space
`objectives`, and in the printed Pareto table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    mode: str  # "max" or "min": the better direction
    unit: str
    doc: str


_ALL = [
    Metric("val_accuracy", "max", "fraction", "accuracy on the validation split, of the quantized model after trace_minmax"),
    Metric("test_accuracy", "max", "fraction", "accuracy on the held-out test split, of the quantized model after trace_minmax"),
    Metric("ebops", "min", "bit-operations", "HGQ effective bit-operations after trace_minmax"),
    Metric("flops", "min", "operations", "floating-point operations of one inference: 2 per multiply-accumulate"),
    Metric("params", "min", "count", "weights and biases of the network (quantizer variables excluded)"),
    Metric("luts", "min", "LUTs", "da4ml estimate of the LUTs of the distributed-arithmetic implementation"),
    Metric("dsps", "min", "DSP slices", "DSPs of hls4ml's Latency strategy at the trial's reuse_factor (0 for distributed_arithmetic)"),
    Metric("latency_cycles", "min", "clock cycles", "pipeline stages of the da4ml design at the latency cutoff"),
    Metric("latency_ns", "min", "ns", "latency_cycles x clock period"),
]

#: Final metrics of a trial, by name.
FINAL_METRICS: dict[str, Metric] = {m.name: m for m in _ALL}

#: Metrics reported after every epoch (training curves).
EPOCH_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "ebops", "beta")

#: Timings of one trial, in seconds.
TIMING_METRICS = ("train_seconds", "estimate_seconds")

#: Every metric a trial reports; what the tracking adapter logs.
LOGGED_METRICS = frozenset(FINAL_METRICS) | frozenset(EPOCH_METRICS) | frozenset(TIMING_METRICS) | {"epoch", "score"}
