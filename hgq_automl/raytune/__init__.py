"""Ray Tune adapter: runs the trials of a search space with an Optuna sampler.

It translates; it holds no search logic. The space samples itself (define-by-run), the
trial trains itself (`trial.run_trial`), and Tune's callbacks are forwarded to plain
`TrialListener`s. Multi-objective settings follow what works with the pinned Ray and
Optuna: metric and mode go to `OptunaSearch` only, never to `TuneConfig`;
trials stopped early by a scheduler are told to Optuna as PRUNED, not COMPLETE.

Its parts, a module each:

- `run`: `run_trials` (start Ray, build or restore the Tuner, run it, read the records
  back), `RunSettings`, `can_resume`;
- `searcher`: the Optuna searcher (`make_searcher`) and the early-stopping scheduler;
- `shared`: the running search's deadline and warm-start pool, which the searcher reads live;
- `trainable`: the Tune trainable, `hgq_trial`;
- `bridge`: a Tune trial as a `TrialRecord`, Tune's callbacks to the listeners;
- `finish`: the front's harvested members finished as Ray tasks (`finish_points`);
- `cluster`: starting or attaching to Ray (`start_ray`; `RayStarting`, the same in a thread while the driver sets up), the workers' environment.

`from hgq_automl.raytune import X` works for each name below. A searcher or trainable Tune
pickled before these modules existed named `hgq_automl.raytune.<name>`: these names still
resolve there.
"""

from .bridge import error_text, make_bridge, trial_record
from .cluster import RayStarting, start_ray, worker_env
from .finish import finish_points
from .run import RunSettings, can_resume, run_trials
from .searcher import inherited_params, make_scheduler, make_searcher, searcher_class
from .shared import _DEADLINE, _WARM_POOL, WarmPool, search_deadline, warm_pool
from .trainable import hgq_trial

__all__ = [
    "RunSettings", "WarmPool", "can_resume", "error_text", "finish_points", "hgq_trial", "inherited_params", "make_bridge",
    "RayStarting", "make_scheduler", "make_searcher", "run_trials", "search_deadline", "searcher_class", "start_ray", "trial_record",
    "warm_pool", "worker_env", "_DEADLINE", "_WARM_POOL",
]  # fmt: skip
