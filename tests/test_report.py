from rich.console import Console

from hgq_automl.events import TrialRecord
from hgq_automl.report import front_rows, front_table, table_metrics


def _render(table) -> str:
    console = Console(record=True, width=250)
    console.print(table)
    return console.export_text()


def test_untrusted_members_are_marked_and_hardware_columns_shown():
    good = TrialRecord("a1", {}, {"val_accuracy": 0.9, "ebops": 100.0, "bit_mismatches": 0, "synth_luts": 1200})
    bad = TrialRecord("b2", {}, {"val_accuracy": 0.95, "ebops": 300.0, "bit_mismatches": 3, "synth_luts": 2500})
    text = _render(front_table([good, bad], ["val_accuracy", "ebops"]))
    assert "b2 (untrusted)" in text and "a1 (untrusted)" not in text
    assert "bit_mismatches" in text and "synth_luts" in text and "2,500" in text
    rows = front_rows([good, bad], ["val_accuracy", "ebops"])
    assert rows[1]["bit_mismatches"] == 3 and rows[0]["synth_luts"] == 1200


def test_without_a_synthesis_step_no_hardware_columns():
    plain = TrialRecord("c3", {}, {"val_accuracy": 0.9, "ebops": 100.0})
    assert table_metrics(["val_accuracy", "ebops"], [plain]) == ["val_accuracy", "test_accuracy", "ebops", "luts", "dsps", "bram", "params", "latency_ns"]
    assert "bit_mismatches" not in _render(front_table([plain], ["val_accuracy", "ebops"]))
