"""Where a search keeps its files: the names of its folder's and a trial's checkpoint's
files, and of the MLflow artifacts a search logs. One place for each name; the modules that
write and the ones that read them import these.

A search's folder, `<storage>/<name>/` (Ray Tune's experiment folder):

    hgq_automl.json                 what a resume needs (STATE_FILE)
    driver.json                     the process running the search, once its set-up is done (DRIVER_FILE)
    <trial folders>/checkpoint_*/   a finished trial's checkpoint (Ray Tune's):
        model.keras                 the trained model (MODEL_FILE)
        firmware/                   the synthesis step's project, hls4ml/ or verilog/ (FIRMWARE_DIR)
        harvest/epoch_NNNN/         each harvested checkpoint (HARVEST_DIR, `harvest_point_dir`):
            model.keras, metrics.json

A search's MLflow runs: the search's run holds SPACE_ARTIFACT, PARETO_JSON, PARETO_CSV,
VERSIONS_ARTIFACT and PARAMETER_PLOTS/; each trial's run `model/` (KERAS_ARTIFACT inside)
and, for a Pareto member, FIRMWARE_DIR/.
"""

from __future__ import annotations

from pathlib import Path

# --------------------------------------------------------------------------- on disk

#: in a search's folder: the search's settings and space, for `--resume`
STATE_FILE = "hgq_automl.json"
#: in a search's folder: `{"pid": ..., "started": unix time}` of the process that runs (or last
#: ran) the search, written when its set-up is done and its trials are about to start. The MCP
#: server waits for its own subprocess's pid here rather than for a console line.
DRIVER_FILE = "driver.json"
#: in a trial's checkpoint folder and in each harvested checkpoint's
MODEL_FILE = "model.keras"
#: in a trial's checkpoint folder: the synthesis step's project
FIRMWARE_DIR = "firmware"
#: in a trial's checkpoint folder: the harvested checkpoints, one folder each
HARVEST_DIR = "harvest"
#: in a harvested checkpoint's folder: its measured metrics
METRICS_FILE = "metrics.json"


def harvest_point_dir(harvest_dir: str | Path, epoch: int) -> Path:
    """The folder of the checkpoint harvested after `epoch` (1-based): epoch_NNNN."""
    return Path(harvest_dir) / f"epoch_{epoch:04d}"


# --------------------------------------------------------------------------- MLflow artifacts

#: the search's run: its resolved space (what `export` and the API's result read back)
SPACE_ARTIFACT = "search_space.yaml"
PARETO_JSON = "pareto.json"
PARETO_CSV = "pareto.csv"
VERSIONS_ARTIFACT = "versions.json"
#: the search's run: Optuna's parameter plots
PARAMETER_PLOTS = "parameters"
#: a trial's run: the pyfunc model folder
MODEL_ARTIFACT = "model"
#: where the `.keras` file lands inside a trial's run when the model folder is logged
KERAS_ARTIFACT = f"{MODEL_ARTIFACT}/data/{MODEL_FILE}"
