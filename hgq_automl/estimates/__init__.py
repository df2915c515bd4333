"""Hardware cost estimates of a trained HGQ2 model (after `trace_minmax`).

Every function here is a documented rule with its source; none needs Ray, MLflow or a
vendor tool. Units are in the names: `flops` (operations per inference), `dsps` (DSP
slices), `bram` (36-bit-wide block-RAM columns, hls4ml's unit, see `layer_bram`), `luts`
(6-input LUTs), `ffs` (flip-flops), `latency_cycles` (clock cycles), `latency_ns`.

Every layer call of the model's graph has a rule for each metric (`layer_costs`) or makes
that metric NaN, with one `EstimateWarning` naming the layer: never a silent 0. A model
da4ml cannot trace gets NaN da4ml metrics and the reason (`da4ml_metrics`), not an error.

One module per source of rules: `graph` (the weight layers), `hls4ml_rules`, `layers`
(every layer's costs), `da4ml`; `estimate` puts them together as a trial reports them.
"""

from __future__ import annotations

from .graph import (  # noqa: F401  (the package's names)
    WeightLayer,
    graph_calls,
    einsum_dense_dims,
    weight_layers,
    count_params,
    count_flops,
    weight_width,
)
from .hls4ml_rules import (  # noqa: F401  (the package's names)
    DSP_MIN_WEIGHT_BITS,
    BRAM_WIDTH_BITS,
    valid_reuse_factors,
    layer_reuse_factor,
    layer_dsps,
    dsp_estimate,
    bram_consecutive_patterns,
    layer_bram,
    bram_estimate,
    batchnorm_dsps,
)
from .layers import (  # noqa: F401  (the package's names)
    LAYER_METRICS,
    FREE_ACTIVATIONS,
    EstimateWarning,
    LayerCost,
    quantizer_width,
    layer_costs,
    cost_totals,
    hgq_ebops,
)
from .da4ml import (  # noqa: F401  (the package's names)
    CLOCK_PERIOD_NS,
    DA4MLEstimate,
    da4ml_estimate,
    DA4ML_METRICS,
    da4ml_failure,
    da4ml_metrics,
)


def estimate(
    model,
    reuse_factor: int = 1,
    strategy: str = "latency",
    clock_period_ns: float = CLOCK_PERIOD_NS,
    da4ml: bool = True,
    notes: dict[str, str] | None = None,
) -> dict[str, float]:
    """The estimates of a traced model, under the metric names of `hgq_automl.metrics`;
    without those of `DA4ML_METRICS` when `da4ml` is False. A metric is NaN when some
    layer has no rule for it (`layer_costs`) or, for da4ml's, when da4ml cannot trace the
    model (`da4ml_metrics`); `notes`, when given, receives why ("uncovered_layers",
    "da4ml_error")."""
    out = cost_totals(layer_costs(model), reuse_factor, strategy, notes, getattr(model, "name", "model"))
    if da4ml:
        out.update(da4ml_metrics(model, clock_period_ns, notes))
    return out
