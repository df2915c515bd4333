"""Populations: K members of one architecture trained in one vmapped program (JAX only)."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.skipif(keras.backend.backend() != "jax", reason="populations need Keras' JAX backend")

from hgq_automl import population as P  # noqa: E402
from hgq_automl._compat import set_random_seed  # noqa: E402
from hgq_automl.compiled import compile_calls  # noqa: E402
from hgq_automl.task import top1_accuracy as top1  # noqa: E402
from hgq_automl.data import load_dataset  # noqa: E402
from hgq_automl.models import build_model, compile_model  # noqa: E402
from hgq_automl.space import parse_space  # noqa: E402


@pytest.fixture(scope="module")
def setup():
    space = parse_space({"dataset": {"max_samples": 400}})
    data = load_dataset(space.dataset)
    params = space.resolve({"filters_1": 4, "learning_rate": 1e-2, "batch_size": 32, "beta": 1e-6})

    def build(seed):
        set_random_seed(seed)
        return build_model(space.model, params, data.input_shape, data.n_outputs)

    def compile(model):
        compile_model(model, params["learning_rate"], space.task)

    return data, build, compile


def test_two_betas_in_one_program(setup):
    data, build, compile = setup
    keras.backend.clear_session()
    template, state = P.init_population(build, [3, 3], compile)  # same start: only beta differs
    assert state.size == 2 and len(state.beta_slots) == 2  # conv1 and output
    np.random.seed(0)
    P.train_population(template, state, [lambda e: 1e-8, lambda e: 1e-3], data.x_train, data.y_train, 8, 32)
    calls = compile_calls(template)
    ebops, acc = [], []
    for k in range(2):
        P.assign_member(template, state, k)
        ebops.append(calls.trace(data.x_train))
        acc.append(top1(calls.infer(data.x_val), data.y_val))
        assert float(template.get_layer("conv1")._beta.numpy()) == pytest.approx([1e-8, 1e-3][k])
    assert ebops[1] < 0.9 * ebops[0], ebops  # 1e-3 * EBOPs in the loss: measured ~0.76x
    assert acc[0] > 0.5, acc  # the low-beta member learned
    assert len(state.losses) == 8 and state.losses[-1].shape == (2,)
    # all members measured in one vmapped program: the same numbers
    batched_ebops, outputs = P.make_check(template, state, chunk=256)(data.x_train, data.x_val)
    assert batched_ebops.tolist() == ebops
    assert [top1(o, data.y_val) for o in outputs] == acc


@pytest.mark.parametrize("scan", [True, False])
def test_one_member_is_keras_fit(setup, scan):
    """K=1 under the vmapped program follows model.fit step for step (same seed, same
    shuffled order, a short last batch): the weights agree to float rounding after an epoch."""
    data, build, compile = setup
    x, y = data.x_train[:200], data.y_train[:200]  # 6 full batches + one of 8
    keras.backend.clear_session()
    template, state = P.init_population(build, [5], compile)
    np.random.seed(1)
    # a fresh model's first fit peeks at one batch of a throw-away epoch iterator to build its
    # metrics and optimizer (`Trainer._symbolic_build`): that iterator draws a permutation
    np.random.permutation(len(x))
    P.train_population(template, state, [lambda e: 1e-5], x, y, 1, 32, scan=scan)
    ours = [np.asarray(v[0]) for v in state.trainable]

    keras.backend.clear_session()
    model = build(5)
    compile(model)
    for layer in model.layers:
        if getattr(layer, "_beta", None) is not None:
            layer._beta.assign(1e-5)
    np.random.seed(1)
    history = model.fit(x, y, batch_size=32, epochs=1, shuffle=True, verbose=0)
    for mine, theirs in zip(ours, model.trainable_variables):
        np.testing.assert_allclose(mine, np.asarray(theirs.value), rtol=1e-4, atol=1e-5, err_msg=theirs.path)
    # Keras' logged loss weighs batches by their size; ours is the plain mean of the batches
    assert state.losses[0][0] == pytest.approx(history.history["loss"][0], rel=0.05)


def test_members_must_share_architecture(setup):
    data, build, compile = setup
    from hgq_automl.space import parse_space

    other = parse_space({"dataset": {"max_samples": 400}})
    params = other.resolve({"filters_1": 2, "learning_rate": 1e-2, "batch_size": 32, "beta": 1e-6})

    def mixed(seed):
        if seed == 0:
            return build(seed)
        set_random_seed(seed)
        return build_model(other.model, params, data.input_shape, data.n_outputs)

    keras.backend.clear_session()
    with pytest.raises(ValueError, match="one architecture"):
        P.init_population(mixed, [0, 1], compile)
