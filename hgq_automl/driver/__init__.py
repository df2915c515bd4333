"""The search driver (`hgq_automl search` and `hgq_automl.search()`): wires the space, the data, Ray Tune, MLflow and the console together.

A search lives in `STORAGE/NAME/` (`storage.py`: its state file, claim, lock and tracking
queue): Ray Tune's experiment state, a folder per trial with its checkpoint, and
`hgq_automl.json` — what a resume needs to continue the same search (the resolved space,
the seed, the MLflow store and parent run).

The driver's parts, a module each:

- `request`: `SearchRequest` (a search's options), `SearchOutcome`, `SearchInterrupted`;
- `preparation`: `prepare`, every check before any trial runs (space, flags, a resume's
  state, the machine, the data, a user's model), and `resolve_space`;
- `tracked`: the search's MLflow parent run and state file at its start (or a resume's);
- `front`: the harvested members of the front finished (da4ml, the synthesis step);
- `phases`: the time the search spends outside its trials, part by part;
- `console`: what it prints (its settings, the Pareto set);
- `run`: `run_search`, the phases in order.

`from hgq_automl.driver import X` works for each name below.
"""

from .phases import PHASES_AFTER, PHASES_BEFORE
from .preparation import Prepared, _check_model, _with_floor, prepare, resolve_space
from .request import SearchInterrupted, SearchOutcome, SearchRequest
from .run import run_search

__all__ = [
    "PHASES_AFTER", "PHASES_BEFORE", "Prepared", "SearchInterrupted", "SearchOutcome", "SearchRequest",
    "prepare", "resolve_space", "run_search", "_check_model", "_with_floor",
]  # fmt: skip
