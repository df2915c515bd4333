"""The synthesis step inside a trial: metrics in the trial's final results, project on disk."""

from hgq_automl.data import load_dataset
from hgq_automl.hardware.synthesis import run_synthesis
from hgq_automl.space import parse_space
from hgq_automl.trial import run_trial


def test_trial_with_csim_reports_zero_mismatches_and_keeps_the_project(tmp_path):
    space = parse_space(
        {
            "dataset": {"max_samples": 300},
            "hardware": {"synthesis": "csim"},
            "parameters": {"filters_1": 2, "epochs": 1, "strategy": "distributed_arithmetic"},
        }
    )
    final, _ = run_trial(space, {}, load_dataset(space.dataset), threads=1, firmware_dir=tmp_path / "fw", synthesize=run_synthesis)
    assert final["bit_mismatches"] == 0
    assert final["dsps"] == 0
    assert (tmp_path / "fw" / "hls4ml" / "firmware" / "myproject.cpp").is_file()
    assert "distributed_arithmetic" in (tmp_path / "fw" / "hls4ml" / "hls4ml_config.yml").read_text()
