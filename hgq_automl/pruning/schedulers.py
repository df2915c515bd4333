"""Sparsity schedulers with the semantics of hls4ml's Optimization API.

After `hls4ml/optimization/dsp_aware_pruning/scheduler.py`: a scheduler holds the current
target sparsity (a fraction of the objective's resources to remove, in [0, 1]);
`update_step()` moves it on after a step whose model met the tolerance, `repair_step()`
after one that did not. Both return (changed, sparsity); changed=False ends pruning.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..space.vocabulary import PRUNING_SCHEDULERS


def _check_fraction(name: str, value: float, *, closed_top: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"The '{name}' parameter must be a number; got {value!r}.")
    ok = 0 <= value <= 1 if closed_top else 0 <= value < 1
    if not ok:
        interval = "[0, 1]" if closed_top else "[0, 1)"
        raise ValueError(f"The '{name}' parameter must be a float in {interval}; got {value!r}.")
    return float(value)


class Scheduler(ABC):
    """Target sparsity per pruning step; see the module docstring. Sparsities are in [0, 1]
    as in hls4ml (a search space keeps final_sparsity below 1)."""

    def __init__(self, initial_sparsity: float = 0.0, final_sparsity: float = 0.5):
        self.lower_bound = _check_fraction("initial_sparsity", initial_sparsity, closed_top=True)
        self.upper_bound = _check_fraction("final_sparsity", final_sparsity, closed_top=True)
        if self.upper_bound < self.lower_bound:
            raise ValueError(f"The 'final_sparsity' parameter must be >= initial_sparsity ({initial_sparsity}); got {final_sparsity!r}.")
        self.sparsity = self.lower_bound

    @abstractmethod
    def update_step(self) -> tuple[bool, float]:
        """The last step met the tolerance: move to a higher sparsity."""

    @abstractmethod
    def repair_step(self) -> tuple[bool, float]:
        """The last step missed the tolerance: move to the next sparsity to try."""

    def get_sparsity(self) -> float:
        return self.sparsity


class ConstantScheduler(Scheduler):
    """Sparsity grows by `update_step` each step until `final_sparsity` would be exceeded.

    A failed step moves on too (a model can recover at a higher sparsity); the training
    loop's `cutoff_bad_steps` ends a run of failures.
    """

    def __init__(self, initial_sparsity: float = 0.0, final_sparsity: float = 0.5, update_step: float = 0.05):
        super().__init__(initial_sparsity, final_sparsity)
        if isinstance(update_step, bool) or not isinstance(update_step, (int, float)) or not 0 < update_step <= 1:
            raise ValueError(f"The 'update_step' parameter must be a float in (0, 1]; got {update_step!r}.")
        self.increment = float(update_step)

    def update_step(self) -> tuple[bool, float]:
        # a small epsilon: 0.1 + 0.05 + 0.05 must reach 0.2 despite float rounding
        if self.sparsity + self.increment <= self.upper_bound + 1e-9:
            self.sparsity = min(self.sparsity + self.increment, self.upper_bound)
            return True, self.sparsity
        return False, self.sparsity

    def repair_step(self) -> tuple[bool, float]:
        return self.update_step()


class PolynomialScheduler(Scheduler):
    """Zhu & Gupta (2016): s_t = s_f + (s_i - s_f) (1 - t / steps) ** decay_power, t = 1..steps."""

    def __init__(self, steps: int, initial_sparsity: float = 0.0, final_sparsity: float = 0.5, decay_power: float = 3):
        super().__init__(initial_sparsity, final_sparsity)
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"The 'steps' parameter must be an int >= 1; got {steps!r}.")
        if isinstance(decay_power, bool) or not isinstance(decay_power, (int, float)) or decay_power <= 0:
            raise ValueError(f"The 'decay_power' parameter must be a number > 0; got {decay_power!r}.")
        self.maximum_steps = steps
        self.decay_power = decay_power
        self.current_step = 0

    def update_step(self) -> tuple[bool, float]:
        if self.current_step >= self.maximum_steps:
            return False, self.sparsity
        self.current_step += 1
        left = (1 - self.current_step / self.maximum_steps) ** self.decay_power
        self.sparsity = self.upper_bound + (self.lower_bound - self.upper_bound) * left
        return True, self.sparsity

    def repair_step(self) -> tuple[bool, float]:
        return self.update_step()


class BinaryScheduler(Scheduler):
    """Bisection: up to the midpoint of (sparsity, final) on success, down to the midpoint of
    (last good, sparsity) on failure, until the interval is narrower than `threshold`."""

    def __init__(self, initial_sparsity: float = 0.0, final_sparsity: float = 0.5, threshold: float = 0.01):
        super().__init__(initial_sparsity, final_sparsity)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or threshold <= 0:
            raise ValueError(f"The 'threshold' parameter must be a number > 0; got {threshold!r}.")
        self.threshold = float(threshold)

    def update_step(self) -> tuple[bool, float]:
        if self.upper_bound - self.sparsity >= self.threshold:
            self.lower_bound = self.sparsity
            self.sparsity = 0.5 * (self.lower_bound + self.upper_bound)
            return True, self.sparsity
        self.lower_bound = self.sparsity
        return False, self.sparsity

    def repair_step(self) -> tuple[bool, float]:
        if self.sparsity - self.lower_bound >= self.threshold:
            self.upper_bound = self.sparsity
            self.sparsity = 0.5 * (self.lower_bound + self.upper_bound)
            return True, self.sparsity
        self.upper_bound = self.sparsity
        return False, self.sparsity


SCHEDULES = PRUNING_SCHEDULERS


def make_scheduler(kind: str, final_sparsity: float, steps: int) -> Scheduler:
    """The scheduler a search space names, reaching `final_sparsity` in about `steps` steps.

    constant: increments of final_sparsity / steps; polynomial: `steps` steps, cubic decay;
    binary: bisection with a threshold of final_sparsity / 2**steps (so ~steps halvings).
    """
    if kind == "constant":
        return ConstantScheduler(0.0, final_sparsity, update_step=final_sparsity / steps if final_sparsity > 0 else 1.0)
    if kind == "polynomial":
        return PolynomialScheduler(steps, 0.0, final_sparsity)
    if kind == "binary":
        return BinaryScheduler(0.0, final_sparsity, threshold=max(final_sparsity / 2**steps, 1e-6))
    raise ValueError(f"The 'kind' parameter must be one of {', '.join(SCHEDULES)}; got {kind!r}.")
