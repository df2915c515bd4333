"""MLflow adapter: one parent run per search, one nested child run per trial.

Child runs get the trial's resolved parameters, its per-epoch metrics (step = epoch),
its final metrics, its trained model (an MLflow model in `model/`) and its end state: FINISHED,
or FAILED with the error in the `error` tag. The parent run gets the search's settings
and resolved search space; at the end, `publish.FrontPublisher` adds the Pareto front
(files, plots, tags, firmware, registered versions). Also here: connecting to a store,
and reading a logged search back (`read_search`). Everything is written from the
driver, so a SQLite store is safe.

The modules: `store` (which store, and connecting to it), `experiment` (a search's
experiment: the claim on its name), `tracker` (`SearchTracker`, the trial-event listener),
`params` (parameters as MLflow text and back), `readback` (a logged search read back).
Everything other modules use is re-exported here: `from hgq_automl.tracking import X`.
"""

from .experiment import NameTaken
from .params import param_texts, param_value
from .readback import LoggedSearch, latest_search_experiment, read_search
from .store import DEFAULT_DB, TRACKING_SCHEMES, check_tracking_uri, connect, existing_store, resolve_tracking_uri
from .tracker import SearchTracker
