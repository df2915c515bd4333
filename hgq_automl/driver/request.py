"""A search's request and outcome: `SearchRequest`, the options of one search (the `search`
command's flags, the API's arguments); `SearchOutcome`, what `run_search` returns; and
`SearchInterrupted`, the interrupt that carries the command resuming the search. Plain
types, so that the API, the CLI and `storage` can name them without loading the driver's
phases."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SearchRequest:
    """The options of one search (the `search` command's flags, the API's arguments);
    None means "as the space says"."""

    #: a built-in name or YAML path; from the API also a dict or a `SearchSpace`
    space: Any = "digits_cnn"
    #: a path replacing the space's dataset.path; from the API also arrays (see `data.from_memory`)
    data: Any = None
    trials: int | None = None
    concurrency: int | None = None
    sampler: str | None = None
    backend: str | None = None  # overrides the space's search.backend
    gpus_per_trial: float | None = None  # overrides the space's search.gpus_per_trial
    seed: int | None = None
    name: str | None = None
    tracking_uri: str | None = None
    storage: str | None = None
    resume: str | None = None  # the name of a search to continue
    address: str | None = None  # an existing Ray cluster
    cpus: int | None = None  # CPUs of a local Ray (default: all of this machine's)
    max_failures: int = 0
    synthesis: str | None = None  # overrides the space's hardware.synthesis
    part: str | None = None  # overrides the space's hardware.part
    harvest: bool | None = None  # overrides the space's harvest (True: the defaults)
    time_budget_s: float | None = None  # overrides the space's search.time_budget_s
    #: made by the Python API: messages name its arguments, not the CLI's flags
    api: bool = False

    def opt(self, field_name: str) -> str:
        """How the user wrote option `field_name` (`options.SEARCH_OPTIONS`): `--time-budget-s`
        on the CLI, `time_budget_s` in Python (`resume=True` there)."""
        from ..options import by_field

        option = by_field(field_name)
        if self.api:
            return "resume=True" if field_name == "resume" else option.api_name
        return option.cli_name

    def given(self) -> dict[str, Any]:
        """The options set to something other than their default (`options.SEARCH_OPTIONS`)."""
        from ..options import SEARCH_OPTIONS

        out = {}
        for o in SEARCH_OPTIONS:
            value = getattr(self, o.field)
            if (value is not None) if o.default is None else (value is not o.default and value != o.default):
                out[o.field] = value
        return out


@dataclass
class SearchOutcome:
    name: str
    records: list
    front: list
    unfinished: int
    parent_run_id: str
    experiment_id: str
    tracking_uri: str
    resume_command: str
    failed: list = field(default_factory=list)
    run_ids: dict = field(default_factory=dict)  # trial_id (harvested points too) -> MLflow run id
    space: Any = None  # the resolved SearchSpace
    data: Any = None  # the Splits the trials saw
    data_fingerprint: str | None = None  # set when the data came in memory (the API)
    storage_path: str = ""  # STORAGE/NAME: Ray Tune's folder of the search
    notes: tuple = ()  # what loading the data and checking the model noted
    stopped_by: str | None = None  # why the trials stopped before they ended, when not by the user (a full disk)


class SearchInterrupted(KeyboardInterrupt):
    """SIGINT outside Ray Tune's own handling; carries the command that resumes the search."""

    def __init__(self, resume_command: str):
        super().__init__(resume_command)
        self.resume_command = resume_command
