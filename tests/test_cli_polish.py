"""CLI polish (issue #34 item 5): `validate` / `search --dry-run`, did-you-mean and several
space errors at once, `report` that creates nothing, one name for the time budget."""

from __future__ import annotations

import pytest

from .conftest import assert_one_line_error, run_cli, tiny_space, write


def test_report_in_an_empty_folder_creates_nothing(tmp_path):
    result = run_cli(["report"], cwd=tmp_path)
    assert_one_line_error(result, "no MLflow store at", "mlflow.db", "no searches")
    assert list(tmp_path.iterdir()) == []


def test_report_of_a_missing_sqlite_file_creates_nothing(tmp_path):
    result = run_cli(["report", "--tracking-uri", f"sqlite:///{tmp_path / 'sub' / 'x.db'}"], cwd=tmp_path)
    assert_one_line_error(result, "no MLflow store at", "x.db", "--tracking-uri")
    assert list(tmp_path.iterdir()) == []


def test_ui_in_an_empty_folder_creates_nothing(tmp_path):
    assert_one_line_error(run_cli(["ui"], cwd=tmp_path), "no MLflow store at")
    assert list(tmp_path.iterdir()) == []


def test_open_search_in_an_empty_folder_creates_nothing(tmp_path, monkeypatch):
    from hgq_automl import open_search
    from hgq_automl.errors import UsageError

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(UsageError, match="no MLflow store at .*tracking_uri"):
        open_search()
    assert list(tmp_path.iterdir()) == []


def _only(folder, *names):
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


def test_validate_checks_space_data_and_model_and_starts_nothing(tmp_path):
    write(tmp_path / "tiny.yaml", tiny_space("tiny", trials=3))
    result = run_cli(["validate", "tiny.yaml", "--trials", "5", "--time-budget-s", "30"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "space tiny (tiny.yaml): valid" in out
    assert "train /" in out and "val /" in out and "test samples" in out and "task classification (10 classes)" in out
    assert "5 trials" in out and "time budget 30 s" in out
    assert "objectives: val_accuracy:max, ebops:min" in out
    assert "parameters (first config)" in out
    assert out.strip().endswith("nothing was started")
    _only(tmp_path, "tiny.yaml")  # no mlflow.db, no hgq_automl_results, no search folder


def test_search_dry_run_is_validate(tmp_path):
    write(tmp_path / "tiny.yaml", tiny_space("tiny", trials=3))
    result = run_cli(["search", "--space", "tiny.yaml", "--dry-run", "--name", "n1"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "space tiny (tiny.yaml): valid; search n1" in result.stdout
    assert result.stdout.strip().endswith("nothing was started (--dry-run)")
    _only(tmp_path, "tiny.yaml")


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["validate", "mnist_cnn"], ("search_spaces/mnist_cnn.yaml: dataset.path: the mnist dataset needs a data file",)),
        (["validate", "tabular_mlp", "--data", "nowhere.npz"], ("dataset.path", "nowhere.npz")),
        (["validate", "tiny.yaml", "--tracking-uri", "mongo://x"], ("--tracking-uri mongo://x: unknown scheme",)),
        (["validate", "tiny.yaml", "--name", "a b"], ("--name must be letters",)),
        (["search", "--space", "tiny.yaml", "--dry-run", "--synthesis", "vivado"], ("vivado",)),
        (["validate", "no_such_space"], ("no_such_space: no such search space",)),
    ],
)
def test_validate_refuses_bad_input_on_one_line_and_creates_nothing(tmp_path, args, fragments):
    write(tmp_path / "tiny.yaml", tiny_space("tiny", trials=3))
    assert_one_line_error(run_cli(args, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"}), *fragments)
    _only(tmp_path, "tiny.yaml")


def test_validate_refuses_a_taken_search_name(tmp_path):
    write(tmp_path / "tiny.yaml", tiny_space("tiny", trials=3))
    from hgq_automl.layout import STATE_FILE

    (tmp_path / "hgq_automl_results" / "taken").mkdir(parents=True)
    (tmp_path / "hgq_automl_results" / "taken" / STATE_FILE).write_text("{}")  # a search's folder: its state file written
    assert_one_line_error(run_cli(["validate", "tiny.yaml", "--name", "taken"], cwd=tmp_path), "a search named 'taken' already exists")


def test_time_budget_has_one_name_and_the_old_flag_still_works(tmp_path):
    write(tmp_path / "tiny.yaml", tiny_space("tiny", trials=3))
    new = run_cli(["search", "--space", "tiny.yaml", "--dry-run", "--time-budget-s", "30"], cwd=tmp_path)
    assert new.returncode == 0 and "time budget 30 s" in new.stdout and "deprecated" not in new.stderr, new.stderr
    old = run_cli(["validate", "tiny.yaml", "--time-budget", "25"], cwd=tmp_path)
    assert old.returncode == 0, old.stderr
    assert "time budget 25 s" in old.stdout
    notes = [line for line in old.stderr.splitlines() if "deprecated" in line]
    assert notes == ["hgq_automl: note: --time-budget is deprecated; use --time-budget-s (the same value, in seconds)"]
    both = run_cli(["validate", "tiny.yaml", "--time-budget", "25", "--time-budget-s", "30"], cwd=tmp_path)
    assert_one_line_error(both, "--time-budget is the old name of --time-budget-s")
    assert "--time-budget-s SECONDS" in run_cli(["search", "--help"], cwd=tmp_path).stdout


def test_time_budget_keyword_is_deprecated_in_the_api(tmp_path):
    import hgq_automl
    from hgq_automl.errors import UsageError

    # a bad space makes the call stop at its checks: the warning comes before them
    with pytest.warns(DeprecationWarning, match=r"time_budget=\.\.\.\) is deprecated; use time_budget_s"):
        with pytest.raises(UsageError, match="no such search space"):
            hgq_automl.search("no_such_space", time_budget=5, tracking_uri=f"sqlite:///{tmp_path / 'm.db'}", progress=False)
    with pytest.raises(UsageError, match="give time_budget_s only"):
        hgq_automl.search("digits_cnn", time_budget=5, time_budget_s=5, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_mcp_start_search_takes_time_budget_s():
    import inspect

    from hgq_automl.mcp_workspace import Workspace

    assert "time_budget_s" in inspect.signature(Workspace.start_search).parameters


BAD_SPACE = """name: bad
nmae: x
dataset: {name: digits, max_sampels: 300}
model: {family: cnn, conv_layer: 1}
search: {trails: 3}
hardware: {synthesis: vivdo}
"""


def test_every_section_error_at_once_each_with_did_you_mean(tmp_path):
    write(tmp_path / "bad.yaml", BAD_SPACE)
    result = run_cli(["validate", "bad.yaml"], cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert [line.split(": ")[3] for line in lines] == ["nmae", "dataset.max_sampels", "model.conv_layer", "search.trails", "hardware.synthesis"]
    assert all(line.startswith("hgq_automl: error: bad.yaml: ") for line in lines)
    for line, wanted in zip(lines, ("'name'", "'max_samples'", "'conv_layers'", "'trials'", "'vivado'")):
        assert f"did you mean {wanted}?" in line
    assert list(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_one_error_stays_one_line_and_unknown_parameters_get_a_suggestion(tmp_path):
    write(tmp_path / "p.yaml", "parameters:\n  filtres_1: {type: int, low: 2, high: 4}\n")
    assert_one_line_error(run_cli(["validate", "p.yaml"], cwd=tmp_path), "p.yaml: parameters.filtres_1: unknown parameter; did you mean 'filters_1'?")
    write(tmp_path / "q.yaml", "search: {trials: 2, sampler: nsga}\n")
    assert_one_line_error(run_cli(["search", "--space", "q.yaml"], cwd=tmp_path), "search.sampler", "did you mean 'nsga2'?")
    write(tmp_path / "r.yaml", "search: {trials: 2}\nqqqq: 1\n")
    result = run_cli(["validate", "r.yaml"], cwd=tmp_path)
    assert_one_line_error(result, "r.yaml: qqqq: unknown key; allowed keys are")  # nothing close: no suggestion
    assert "did you mean" not in result.stderr


def test_space_errors_in_python_are_one_exception_listing_them_all():
    from hgq_automl import SpaceError, load_space

    import yaml

    with pytest.raises(SpaceError) as caught:
        load_space(yaml.safe_load(BAD_SPACE))
    assert caught.value.key == "nmae" and len(str(caught.value).splitlines()) == 5
    assert [e.key for e in caught.value.errors][1:] == ["dataset.max_sampels", "model.conv_layer", "search.trails", "hardware.synthesis"]


def test_at_most_ten_errors_are_listed(tmp_path):
    write(tmp_path / "many.yaml", "search: {" + ", ".join(f"k{i}: 1" for i in range(14)) + "}\n")
    result = run_cli(["validate", "many.yaml"], cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 11
    assert lines[-1] == "hgq_automl: error: many.yaml: ... and 4 more error(s)"


def test_first_line_quotes_one_line_of_any_exception():
    from hgq_automl.errors import first_line

    many = RuntimeError("  the problem\nTraceback (most recent call last):\n  File ...")
    assert first_line(many) == "the problem"
    assert first_line(many, typed=True) == "RuntimeError: the problem"
    assert first_line(ValueError("x" * 500)) == "x" * 200
    assert first_line(ValueError("x" * 500), 300) == "x" * 300
    assert first_line(KeyError()) == "KeyError"  # no message: its type, never an IndexError
    assert first_line(OSError(""), typed=True) == "OSError"
