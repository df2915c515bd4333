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


def test_cost_columns_say_which_design_they_describe():
    from hgq_automl.metrics import DESIGNS, FINAL_METRICS
    from hgq_automl.report import column_header

    assert {m: FINAL_METRICS[m].design for m in ("luts", "ffs", "latency_cycles", "latency_ns", "dsps", "bram", "ebops", "params", "synth_luts")} == {
        "luts": "da4ml", "ffs": "da4ml", "latency_cycles": "da4ml", "latency_ns": "da4ml",
        "dsps": "hls4ml", "bram": "hls4ml", "ebops": "hgq", "params": "", "synth_luts": "",
    }  # fmt: skip
    assert column_header("luts") == "luts\n[LUTs]\nda4ml DA"
    assert column_header("dsps") == "dsps\n[DSP slices]\nhls4ml RF"
    assert column_header("ebops") == "ebops\n[bit-operations]\nHGQ PF"
    assert column_header("val_accuracy") == "val_acc"
    plain = TrialRecord("c3", {}, {"val_accuracy": 0.9, "ebops": 100.0, "luts": 812.0, "dsps": 3.0})
    text = _render(front_table([plain], ["val_accuracy", "ebops"]))
    header = text.split("c3")[0]
    for label, _ in DESIGNS.values():
        assert label in header
    assert "da4ml DA: da4ml's fully parallel distributed-arithmetic design (luts, latency_ns)" in text
    assert "hls4ml RF: hls4ml's design at the trial's strategy and reuse_factor (dsps, bram)" in text
    assert "HGQ PF: HGQ's count at the trial's parallelization_factor (ebops)" in text


def test_hardware_page_metric_table_gives_each_metric_its_registry_design():
    from pathlib import Path

    from hgq_automl.metrics import FINAL_METRICS

    readme = (Path(__file__).resolve().parents[1] / "docs" / "hardware.md").read_text().splitlines()
    start = readme.index("| metric | unit | design | what |")
    seen = 0
    for row in readme[start + 2 :]:
        if not row.startswith("|"):
            break
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        for name in (n.strip(" `") for n in cells[0].split(",")):
            assert cells[2] == (FINAL_METRICS[name].design_label or "—"), name
            seen += 1
    assert seen >= 18
