"""Hardware adapters: hls4ml conversion and C simulation, da4ml Verilog with yosys and
iverilog, vendor (Vivado/Vitis HLS) builds and their reports.

`synthesis.run_synthesis` is the per-trial step a search space chooses with
`hardware.synthesis`; the modules import hls4ml, da4ml and the tools lazily, so
importing this package stays cheap. (The FPGA part names, checked at load time, are `hgq_automl.parts`.)
"""
