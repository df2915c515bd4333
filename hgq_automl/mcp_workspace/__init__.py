"""The MCP server's workspace: the logic behind its tools, plain Python, no MCP.

`Workspace` confines every path a client gives (a space file, `out=`, a space's dataset
files, model file and builder module) to the workspace folder (`--root`); built-in
spaces are trusted as shipped. It launches each search as `python -m hgq_automl search ...`
in a subprocess of its own (its own process group, by default in a private network
namespace so that Ray listens on loopback only), with its MLflow store and Ray Tune
folder inside the workspace, and reads status, fronts and artifacts back from that
MLflow store. `stop_search` sends the CLI's Ctrl-C (SIGINT), which leaves the search
resumable; an export runs `export.run_export` in a subprocess too (`export_child`), so
TensorFlow and Ray never load in the server and nothing they print reaches the stdio
protocol stream. Bad input raises UsageError with the CLI's one-line message.

`mcp_server` wraps it in the MCP SDK's tools and resources.

The modules: `workspace` (`Workspace`, a method per tool), `confine` (the workspace's
folders, every path confined to it), `spaces` (the `space` argument loaded), `processes`
(the search subprocesses: started, watched, stopped), `results` (status, front and plots
read back from MLflow), `exports` (an export in a subprocess). Everything other modules
use is re-exported here: `from hgq_automl.mcp_workspace import X`.
"""

from .confine import FILES, STORAGE
from .exports import export_child
from .processes import ERROR_PREFIX, Launched
from .workspace import Workspace

#: the export targets, as `export.TARGETS` (not imported from there: the server loads no export code until asked)
TARGETS = ("hls4ml", "verilog")
