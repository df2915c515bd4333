"""Constraints on a trial's final metrics, e.g. `dsps <= 0` or `luts <= 20000`.

A constraint's violation follows Optuna's convention (`constraints_func`): a value <= 0
means satisfied, > 0 says by how much it is violated. A trial that does not report the
metric (it failed, or its synthesis step does not produce it) violates it (inf).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .metrics import DESIGNS, FINAL_METRICS

_FORM = re.compile(r"^\s*(?P<metric>[A-Za-z_]\w*)\s*(?P<op><=|>=)\s*(?P<bound>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True)
class Constraint:
    metric: str
    op: str  # "<=" or ">="
    bound: float

    def violation(self, metrics: Mapping[str, Any]) -> float:
        """metric - bound for <=, bound - metric for >=; inf if the metric is missing or not finite."""
        value = metrics.get(self.metric)
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return math.inf
        return float(value) - self.bound if self.op == "<=" else self.bound - float(value)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound:g}"


def parse_constraint(text: Any) -> Constraint:
    """`"dsps <= 0"` -> Constraint("dsps", "<=", 0.0). Raises ValueError saying the expected form."""
    m = _FORM.match(text) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"must read METRIC <= NUMBER or METRIC >= NUMBER, e.g. 'dsps <= 0'; got {text!r}")
    return Constraint(m.group("metric"), m.group("op"), float(m.group("bound")))


def violations(constraints: Sequence[Constraint], metrics: Mapping[str, Any]) -> list[float]:
    return [c.violation(metrics) for c in constraints]


def feasible(constraints: Sequence[Constraint], metrics: Mapping[str, Any]) -> bool:
    return all(v <= 0 for v in violations(constraints, metrics))


def mixed_designs(constraints: Sequence[Constraint]) -> str | None:
    """One line when the constraints bound costs of different designs (e.g. `luts <= 5000`,
    da4ml's fully parallel design, beside `dsps <= 10`, hls4ml's at the reuse factor): a
    trial that meets both need not be one circuit that does. None when they do not mix."""
    by_design: dict[str, list[str]] = {}
    for c in constraints:
        metric = FINAL_METRICS.get(c.metric)
        if metric is not None and metric.design:
            by_design.setdefault(metric.design, []).append(str(c))
    if len(by_design) < 2:
        return None
    parts = [f"{' and '.join(cs)} on {DESIGNS[d][1]}" for d, cs in by_design.items()]
    return "constraints mix designs: " + "; ".join(parts) + " (no one circuit need meet them all)"
