"""Intra-trial Pareto harvesting: the non-dominated checkpoints of one training run.

HGQ's recipe trains once while beta ramps up and keeps every epoch that no other epoch
beats on both quality and EBOPs. `Harvest` is that bookkeeping, framework-free: offer it
(epoch, quality, EBOPs, payload) points; it keeps the non-dominated ones, at most
`max_points`, and when over the cap drops the interior point whose removal loses the
least hypervolume in (quality, log2 EBOPs) — so the kept points stay spread along the
front rather than bunched where training spent most epochs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass
class HarvestPoint:
    epoch: int  # 1-based
    quality: float
    ebops: float
    payload: Any = None  # e.g. the model's weights at that epoch

    def dominates(self, other: HarvestPoint) -> bool:
        """At least as good on both (higher quality, lower EBOPs) and better on one."""
        return (
            self.quality >= other.quality
            and self.ebops <= other.ebops
            and (self.quality > other.quality or self.ebops < other.ebops)
        )


class Harvest:
    """The non-dominated points offered so far, sorted by EBOPs (ascending).

    `min_quality`: points below it are never kept (a collapsed model, which the search's
    front leaves out anyway, would otherwise hold the low-EBOPs end and a slot of the cap).
    """

    def __init__(self, max_points: int = 8, min_quality: float | None = None, band: float | None = None):
        if max_points < 1:
            raise ValueError(f"max_points must be >= 1; got {max_points}")
        self.max_points = max_points
        self.min_quality = min_quality
        self.band = band
        self.points: list[HarvestPoint] = []

    def offer(self, epoch: int, quality: float, ebops: float, payload: Any = None) -> bool:
        """Keep the point if nothing kept dominates it (dropping those it dominates); True if kept.

        A point with a non-finite value, or below `min_quality`, is never kept. An exact
        tie with a kept point is not kept either: the earlier epoch stands.
        """
        if not (math.isfinite(quality) and math.isfinite(ebops)):
            return False
        if self.min_quality is not None and quality < self.min_quality:
            return False
        new = HarvestPoint(epoch, float(quality), float(ebops), payload)
        for p in self.points:
            if p.dominates(new) or (p.quality == new.quality and p.ebops == new.ebops):
                return False
        self.points = sorted([p for p in self.points if not new.dominates(p)] + [new], key=lambda p: (p.ebops, p.quality))
        while len(self.points) > self.max_points:
            self.points.pop(self._least_valuable())
        return any(p is new for p in self.points)

    def _least_valuable(self) -> int:
        """Index of the point whose removal loses the least hypervolume (moocore's
        contributions in quality x log2 EBOPs), never one of the two ends when there are
        more than two: on a front sorted by EBOPs, a point between neighbours a and c
        exclusively covers (acc - acc_a) x (log2 e_c - log2 e). With a `band`, the points
        more than `band` below the best quality go first (least hypervolume first among
        them): the places are kept for the accuracies a user deploys at."""
        pts = self.points
        if len(pts) <= 2:
            return len(pts) - 1
        import moocore
        import numpy as np

        values = np.array([[p.quality, math.log2(max(p.ebops, 1.0))] for p in pts])
        # the reference point's quality is the first point's (the lowest): its neighbour then
        # loses (acc_1 - acc_0) x (...), also when the clamp at 1 EBOP gives both the same log
        ref = [values[0, 0], values[:, 1].max() + 1.0]
        loss = moocore.hv_contributions(values, ref=ref, maximise=[True, False])
        inner = range(1, len(pts) - 1)
        if self.band is not None:
            best = max(p.quality for p in pts)
            below = [i for i in inner if pts[i].quality < best - self.band]
            inner = below or inner
        return min(inner, key=lambda i: loss[i])

    def __len__(self) -> int:
        return len(self.points)
