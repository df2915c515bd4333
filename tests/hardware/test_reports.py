"""The Vivado/Vitis report parser, on report files written in the tools' published formats."""

import shutil
from pathlib import Path

import pytest

from hgq_automl.hardware.reports import read_vendor_reports, vendor_metrics

PROJECT = Path(__file__).resolve().parents[1] / "data" / "vitis_project"


def test_logic_synthesis_figures_replace_the_csynth_estimates():
    metrics = read_vendor_reports(PROJECT)
    # LUT/FF/DSP from vivado_synth.rpt (not csynth's 15876 / 4321 / 12); 1.5 BRAM tiles = 3 BRAM_18K
    assert metrics == {"synth_luts": 12034, "synth_ffs": 3987, "synth_dsps": 10, "synth_bram": 3, "synth_latency_cycles": 7}


def test_csynth_only_and_vivado_dsp48e_tag(tmp_path):
    project = tmp_path / "prj"
    shutil.copytree(PROJECT, project)
    (project / "vivado_synth.rpt").unlink()
    xml = project / "myproject_prj/solution1/syn/report/myproject_csynth.xml"
    xml.write_text(xml.read_text().replace("<DSP>", "<DSP48E>").replace("</DSP>", "</DSP48E>"))  # Vivado HLS's tag
    assert read_vendor_reports(project) == {"synth_luts": 15876, "synth_ffs": 4321, "synth_dsps": 12, "synth_bram": 2, "synth_latency_cycles": 7}


def test_a_project_without_reports_is_an_error(tmp_path):
    project = tmp_path / "prj"
    shutil.copytree(PROJECT, project)
    (project / "myproject_prj/solution1/syn/report/myproject_csynth.xml").unlink()
    with pytest.raises(ValueError, match="no C-synthesis report"):
        read_vendor_reports(project)
    with pytest.raises(ValueError, match="no C-synthesis report"):
        vendor_metrics({})
