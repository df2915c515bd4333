"""The layering: the pure core imports no adapter (Ray, MLflow, Optuna, hls4ml, MCP, the
hardware steps, the CLI and the other wiring modules), neither when it is imported nor
inside its functions. Adapters are passed in (e.g. `run_trial(synthesize=...)`)."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import hgq_automl

PACKAGE = Path(hgq_automl.__file__).parent

#: the pure core: modules and packages under hgq_automl
CORE = (
    "_compat", "beta", "callbacks", "constraints", "convert", "data", "diskfull", "errors", "estimates", "events", "fingerprints", "harvest", "layout", "measurements", "metrics",
    "models", "pareto", "parts", "pruning", "quantizers", "report", "space", "task", "trial", "user_models",
)  # fmt: skip
#: what the core must not import: third-party adapters and the package's own wiring
ADAPTERS = (
    "ray", "mlflow", "optuna", "hls4ml", "mcp",
    "hgq_automl.hardware", "hgq_automl._ray_compat", "hgq_automl.cli", "hgq_automl.cli_flags", "hgq_automl.driver", "hgq_automl.raytune", "hgq_automl.samplers",
    "hgq_automl.tracking", "hgq_automl.outbox", "hgq_automl.publish", "hgq_automl.jobs", "hgq_automl.api", "hgq_automl.result", "hgq_automl.export",
    "hgq_automl.browse", "hgq_automl.progress", "hgq_automl.mlflow_model", "hgq_automl.mcp", "hgq_automl.mcp_server", "hgq_automl.mcp_workspace",
)  # fmt: skip


def _is_adapter(module: str) -> bool:
    return any(module == a or module.startswith(a + ".") for a in ADAPTERS)


def _core_files() -> dict[str, Path]:
    """Each core module's dotted name and file (a package's every file)."""
    out = {}
    for name in CORE:
        folder = PACKAGE / name
        if folder.is_dir():
            for path in sorted(folder.rglob("*.py")):
                parts = path.relative_to(PACKAGE).with_suffix("").parts
                dotted = ".".join(("hgq_automl", *parts)).removesuffix(".__init__")
                out[dotted] = path
        else:
            out[f"hgq_automl.{name}"] = PACKAGE / f"{name}.py"
    return out


def _imported_names(dotted: str, path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import statement in the file, relative ones resolved;
    `from X import y` counts as X.y too (y may be a module)."""
    package = dotted if path.name == "__init__.py" else dotted.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append((node.lineno, module))
            out += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return out


def test_the_core_has_no_import_statement_of_an_adapter_even_inside_functions():
    files = _core_files()
    assert {"hgq_automl.space", "hgq_automl.space.parse", "hgq_automl.trial", "hgq_automl.pruning.loop"} <= set(files)
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}"
        for dotted, path in files.items()
        for line, module in _imported_names(dotted, path)
        if _is_adapter(module)
    ]
    assert found == []


def test_importing_a_core_module_loads_no_adapter():
    """Each core module, imported in turn in a fresh interpreter: the adapters it loaded."""
    modules = sorted(_core_files())
    script = f"""
import json, sys
adapters = {ADAPTERS!r}
is_adapter = lambda m: any(m == a or m.startswith(a + ".") for a in adapters)
loaded, blame = set(), {{}}
for name in {modules!r}:
    __import__(name)
    new = sorted(m for m in sys.modules if is_adapter(m) and m not in loaded)
    if new:
        blame[name] = new
        loaded.update(new)
print(json.dumps(blame))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {}


def test_the_checks_see_an_adapter_import(tmp_path):
    """The AST check resolves relative imports, inside functions too: the checks above are not vacuous."""
    names = [m for _, m in _imported_names("hgq_automl.pruning.loop", PACKAGE / "pruning" / "loop.py")]
    assert "hgq_automl.space.rules" in names and "hgq_automl.pruning.knapsack" in names
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from ..hardware import synthesis\n    import mlflow.entities\n    from . import masks\n")
    names = [m for _, m in _imported_names("hgq_automl.pruning.sample", sample)]
    assert [m for m in names if _is_adapter(m)] == ["hgq_automl.hardware", "hgq_automl.hardware.synthesis", "mlflow.entities"]
    assert "hgq_automl.pruning.masks" in names


#: import cycles that stay, each with its reason; any other is a failure
KNOWN_CYCLES = [
    # SearchSpace.with_overrides re-runs the section parsers' checks on the overridden settings
    {"hgq_automl.space.schema", "hgq_automl.space.sections"},
]


def _package_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (in functions too; not under TYPE_CHECKING)."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts).removesuffix(".__init__")] = path
    graph = {}
    for dotted, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        hidden = {
            id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and ast.unparse(block.test).endswith("TYPE_CHECKING")
            for stmt in block.body for n in ast.walk(stmt)
        }
        package = dotted if path.name == "__init__.py" else dotted.rsplit(".", 1)[0]
        edges = set()
        for node in ast.walk(tree):
            if id(node) in hidden or not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    up = package.split(".")
                    base = ".".join(up[: len(up) - (node.level - 1)] + ([node.module] if node.module else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            edges |= {t for t in targets if t in modules and t != dotted}
        graph[dotted] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_but_the_known_ones():
    graph = _package_graph()
    assert "hgq_automl.space.geometry" in graph["hgq_automl.space.schema"]  # the graph is not empty
    assert sorted(map(sorted, _cycles(graph))) == sorted(map(sorted, KNOWN_CYCLES))


def test_the_cycle_check_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
