"""A converted float Keras model (one of each convertible layer) is bit-exact through
hls4ml's C simulation and da4ml's trace, like the built-in models."""

import numpy as np

from hgq_automl.hardware.hls import convert, csim_mismatches
from hgq_automl.space import parse_space

from ..test_user_models import _float_model


def test_a_converted_float_model_is_bit_exact_in_csim_and_da4ml(tmp_path):
    import keras
    from da4ml.converter import trace_model
    from da4ml.trace import HWConfig, comb_trace
    from hgq.utils import trace_minmax

    from hgq_automl.models import build_model, compile_model

    _float_model().save(tmp_path / "float.keras")
    space = parse_space({"model": {"path": str(tmp_path / "float.keras")}, "parameters": {"beta": 1e-4}})
    model = build_model(space.model, space.first_params(), (8, 8, 1), 10)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(300, 8, 8, 1)).astype(np.float32)
    compile_model(model, 1e-3)
    keras.utils.set_random_seed(0)
    model.fit(x, rng.integers(0, 10, 300), epochs=1, batch_size=64, verbose=0)
    trace_minmax(model, x)

    hls_model = convert(model, tmp_path / "prj", "Vitis", "xcvu9p-flga2104-2L-e", 5.0, "latency", 1)
    assert csim_mismatches(hls_model, model, x) == 0

    inp, out = trace_model(model, HWConfig(1, -1, -1))
    comb = comb_trace(inp, out)
    expected = model.predict(x, verbose=0)
    assert np.count_nonzero(comb.predict(x.reshape(len(x), -1)).reshape(expected.shape) != expected) == 0
