"""examples/quickstart.ipynb, executed (nbclient, a real kernel, Ray inside `unshare -n`), so it cannot rot."""

import json
import subprocess
import sys

import pytest

from .conftest import REPO, can_unshare

RUN = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(nb, sys.argv[3])
"""


def test_quickstart_notebook_runs(tmp_path):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    if not can_unshare():
        pytest.fail("the notebook test needs `unshare -n` (root) to keep Ray on loopback")
    (tmp_path / "run.py").write_text(RUN)
    out = tmp_path / "executed.ipynb"
    args = " ".join(f"'{a}'" for a in (sys.executable, tmp_path / "run.py", REPO / "examples" / "quickstart.ipynb", tmp_path, out))
    done = subprocess.run(["unshare", "-n", "bash", "-c", f"ip link set lo up; exec {args}"], cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-4000:]
    cells = [c for c in json.loads(out.read_text())["cells"] if c["cell_type"] == "code"]
    assert all(o.get("output_type") != "error" for c in cells for o in c["outputs"])

    def text(cell):
        return "".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", "")) for o in cell["outputs"])

    search, front, frame, plot, export = (next(c for c in cells if key in "".join(c["source"])) for key in ("hgq_automl.search(", "result.front:", "to_dataframe", "result.plot()", "result.export("))
    assert "<SearchResult 'quickstart" in text(search) and "4/4" in text(search)  # the progress bar reached 4 of 4 trials
    assert "val_accuracy=" in text(front) and "pareto" in text(frame)
    assert any("image/png" in o.get("data", {}) for o in plot["outputs"])
    assert "bit mismatches: 0 on" in text(export) and ".v'" in text(export)
    assert (tmp_path / "mlflow.db").is_file() and (tmp_path / "firmware").is_dir()
