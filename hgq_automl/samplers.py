"""The Optuna side: the sampler a space names, samplers adapted to being driven by Ray Tune,
and Optuna's own plots of a finished search (imported only when a search runs or is logged)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import optuna

if TYPE_CHECKING:
    from .events import TrialRecord
    from .space import SearchSpace


#: Each sampler name of the vocabulary (`space.vocabulary.SAMPLERS`) and what builds it
#: from the space and the seed; `tests/test_registries.py` ties the two.
_SAMPLERS: dict[str, Callable[[SearchSpace, int | None], optuna.samplers.BaseSampler]] = {
    "nsga2": lambda space, seed: optuna.samplers.NSGAIISampler(population_size=space.search.nsga2_population(), seed=seed),
    "tpe": lambda space, seed: optuna.samplers.TPESampler(seed=seed, constant_liar=space.search.concurrency > 1),
    "random": lambda space, seed: optuna.samplers.RandomSampler(seed=seed),
    # every combination of the choice values, in a seeded order
    "grid": lambda space, seed: GridSampler(space.grid(), seed=seed),
}


def make_sampler(space: SearchSpace, seed: int | None) -> optuna.samplers.BaseSampler:
    """The Optuna sampler of `space.search.sampler`, seeded."""
    return _SAMPLERS[space.search.sampler](space, seed)


class GridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler without its `study.stop()` once every grid point was visited:
    Ray Tune's OptunaSearch tells results outside `study.optimize`, where stop() raises.
    After the grid is exhausted, points are visited again (give `trials` = the grid size,
    or a time budget)."""

    def after_trial(self, study, trial, state, values) -> None:
        pass


def _study(records: Sequence[TrialRecord], space, objectives: Sequence[tuple[str, str]]):
    """The completed trials as an in-memory Optuna study, for Optuna's own plots."""

    def distribution(dim):
        if dim.kind == "choice":
            return optuna.distributions.CategoricalDistribution(list(dim.values))
        if dim.kind == "int":
            return optuna.distributions.IntDistribution(int(dim.low), int(dim.high), log=dim.log, step=dim.step)
        return optuna.distributions.FloatDistribution(dim.low, dim.high, log=dim.kind == "log_uniform")

    dists = {name: distribution(dim) for name, dim in space.parameters.items() if dim.kind != "fixed"}
    study = optuna.create_study(directions=["maximize" if mode == "max" else "minimize" for _, mode in objectives])
    for r in records:
        if not r.ok:
            continue
        params = {k: r.config[k] for k in dists if k in r.config}
        study.add_trial(
            optuna.trial.create_trial(params=params, distributions={k: dists[k] for k in params}, values=[float(r.metrics[m]) for m, _ in objectives])
        )
    return study


def plot_parameters(records: Sequence[TrialRecord], space, objectives: Sequence[tuple[str, str]], folder: Path) -> list[Path]:
    """Parallel-coordinates plots of the sampled dimensions against each objective, and
    the parameters' importance (fANOVA) for each objective, as PNGs (Optuna's matplotlib plots).

    Plots that need more trials than there are (importance needs 2 with varied
    parameters) are left out.
    """
    import warnings

    import sys

    import matplotlib

    from .progress import in_notebook

    if not in_notebook() and "matplotlib.pyplot" not in sys.modules:
        # a headless run (the CLI) draws off screen; a notebook or a user's own pyplot session
        # keeps its backend (switching it would stop their figures from showing)
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = _study(records, space, objectives)
    written = []
    for i, (metric, _) in enumerate(objectives):
        for kind, plot in (("parallel", ovm.plot_parallel_coordinate), ("importance", ovm.plot_param_importances)):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # Optuna flags its matplotlib plots experimental
                    ax = plot(study, target=lambda t, i=i: t.values[i], target_name=metric)
            except (ValueError, RuntimeError, ZeroDivisionError):
                continue  # too few trials, or nothing varied
            path = Path(folder) / f"{kind}_{metric}.png"
            ax.figure.set_size_inches(9, 5)
            ax.figure.tight_layout()
            ax.figure.savefig(path, dpi=110)
            plt.close(ax.figure)
            written.append(path)
    return written
