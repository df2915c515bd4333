"""The MLflow tag names a search writes and reads, in one place.

MLflow's own (`mlflow.utils.mlflow_tags`) are repeated as strings, so that reading this
module does not import MLflow; `tests/test_faults.py` checks they agree.
"""

#: mlflow.utils.mlflow_tags.MLFLOW_PARENT_RUN_ID: nests a run under another in the UI.
PARENT_RUN = "mlflow.parentRunId"
#: What a run is: "search" (the parent), "trial", or "harvest" (a harvested checkpoint).
ROLE = "hgq_automl.role"
#: The Ray Tune trial id of a trial run; `<trial>-e<epoch>` for a harvested checkpoint.
TRIAL_ID = "hgq_automl.trial_id"
#: A harvested checkpoint's search run (its parent in the UI is its trial's run).
SEARCH_RUN = "hgq_automl.search_run"
#: The trial a harvested checkpoint comes from.
HARVESTED_FROM = "hgq_automl.harvested_from"
#: The search space's name, on the parent run.
SPACE = "hgq_automl.space"
#: "true" on the runs of the search's Pareto set (and only on them).
PARETO = "pareto"
#: "true" on a trial's run made again when the trial restarted.
RESTARTED = "restarted"
#: "true" on a trial stopped early by the scheduler.
EARLY_STOPPED = "early_stopped"
#: A failed trial's error.
ERROR = "error"
