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
