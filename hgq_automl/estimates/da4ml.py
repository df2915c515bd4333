"""da4ml's estimate of the fully parallel distributed-arithmetic design: LUTs, FFs and
latency (`da4ml_estimate`), or NaN and the reason when da4ml cannot trace the model
(`da4ml_metrics`), not an error."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

from .layers import EstimateWarning


#: Default clock period; da4ml cuts its pipeline every this many delay units
#: (da4ml's examples pair a cutoff of 5 with a 5 ns clock, 200 MHz).
CLOCK_PERIOD_NS = 5.0


@dataclass(frozen=True)
class DA4MLEstimate:
    luts: float  # da4ml's LUT cost of the combinational design
    ffs: int  # register bits of the pipelined design
    latency_cycles: int  # pipeline stages
    latency_ns: float  # latency_cycles x clock period
    comb: object  # the da4ml CombLogic (for bit-exact prediction, Verilog generation)


def da4ml_estimate(model, clock_period_ns: float = CLOCK_PERIOD_NS) -> DA4MLEstimate:
    """LUTs, FFs and latency of the model as da4ml's distributed-arithmetic design.

    - LUTs: `comb_trace(...).cost`, da4ml's LUT estimate of the combinational logic
      (da4ml/trace; how close it comes to yosys is in docs/benchmarks.md);
    - pipeline: `to_pipeline(comb, cutoff)` (da4ml/trace/pipeline.py) cuts the design
      every `cutoff` delay units; the cutoff is the clock period in ns, the pairing of
      da4ml's own examples (cutoff 5 for a 5 ns clock);
    - FFs: that pipeline's `reg_bits`, the bits held in the stage registers (what
      `RTLModel` prints as "Estimated cost: ... FFs");
    - latency: the number of stages (cycles), times the clock period (ns).
    """
    from da4ml.converter import trace_model
    from da4ml.trace import HWConfig, comb_trace, to_pipeline

    inp, out = trace_model(model, HWConfig(1, -1, -1))
    comb = comb_trace(inp, out)
    pipe = to_pipeline(comb, clock_period_ns, verbose=False)
    stages = len(pipe.solutions)
    return DA4MLEstimate(float(round(comb.cost)), int(pipe.reg_bits), stages, stages * clock_period_ns, comb)


#: The estimates that need da4ml's trace of the whole design: the bulk of the cost of
#: `estimate` (~0.5 s for the digits CNN, seconds for the MNIST one), against milliseconds
#: for the others.
DA4ML_METRICS = ("luts", "ffs", "latency_cycles", "latency_ns")


def da4ml_failure(error: BaseException) -> str:
    """"<ExceptionClass>: <first line of its message>" (the class alone if no message)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def da4ml_metrics(model, clock_period_ns: float = CLOCK_PERIOD_NS, notes: dict[str, str] | None = None) -> dict[str, float]:
    """`da4ml_estimate`'s numbers under the metric names of `DA4ML_METRICS`; all NaN when
    da4ml cannot trace the model (a layer its tracer does not know, such as a Keras
    `Activation` layer; a float input pooled before any quantizer, "math domain error"),
    the reason (`da4ml_failure`) in `notes["da4ml_error"]` and one `EstimateWarning`."""
    try:
        da = da4ml_estimate(model, clock_period_ns)
    except Exception as error:  # da4ml raises many kinds (KeyError, ValueError, AssertionError, ...)
        reason = da4ml_failure(error)
        if notes is not None:
            notes["da4ml_error"] = reason
        name = getattr(model, "name", "model")
        warnings.warn(f"da4ml cannot trace {name!r} ({reason}): {', '.join(DA4ML_METRICS)} are NaN", EstimateWarning, stacklevel=2)
        return dict.fromkeys(DA4ML_METRICS, math.nan)
    return {"luts": da.luts, "ffs": da.ffs, "latency_cycles": da.latency_cycles, "latency_ns": da.latency_ns}
