"""`hgq_automl export RUN_ID` (or `export MODEL.keras`): a trial's model from MLflow, or a
trained model file, out as an hls4ml project or Verilog.

Wires the MLflow adapter (the run, its `model/data/model.keras`, the parent run's
`search_space.yaml`) to the hardware adapters: the same data split is rebuilt from the
space, the firmware is written, its bit-exactness re-checked on the held-out test split
(hls4ml C simulation, or iverilog RTL simulation of `hardware.sim_samples` samples), and
the estimates (plus synthesis figures with `--synth`) are returned.

The modules: `requests` (what an export is asked and gives), `checks` (the request
checked before any model is read), `settings` (the hardware settings it uses), `claim`
(the output folder, one export at a time), `firmware` (the trial's synthesis steps into
that folder), `from_run` (`run_export`, a trial's run in MLflow) and `from_file`
(`run_file_export`, a model file). Everything other modules use is re-exported here:
`from hgq_automl.export import X`.
"""

from .checks import check_hls_options, check_request, read_hls_config
from .claim import EXPORT_LOCK, claimed_out
from .from_file import run_file_export
from .from_run import _download, run_export  # result.py downloads a run's artifacts with _download
from .requests import TARGETS, ExportOutcome, ExportRequest, FileExportRequest, HlsOptions, describe
