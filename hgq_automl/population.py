"""Populations: K models of one architecture trained in one compiled program (JAX backend).

A trial's step is overhead-dominated on CPUs (tiny matmuls; docs/benchmarks.md): training
K members side by side in one program costs far less than K programs. The members share
the architecture, the optimizer's kind and learning rate and the data batches; they differ
in their initial weights (one seed each) and in their beta schedules (HGQ's per-layer
`_beta` variables are non-trainable variables, so each member carries its own).

The program, per member and batch: `model.stateless_call(trainable, non_trainable, x,
training=True, return_losses=True)`, the task loss plus the layers' losses (HGQ2 adds
`beta * EBOPs` with `add_loss` in every quantized layer's training call and stores the
EBOPs in its non-trainable `_ebops` variable), gradients with `jax.value_and_grad` and the
optimizer's `stateless_apply`; `jax.vmap` over the members' variables (data in_axes None)
and, with `scan=True`, `jax.lax.scan` over an epoch's batches, so that an epoch is one
call (a short last batch padded with copies of its own samples at loss weight 0, see
`_epoch_batches`). Without `scan`, one call per batch, as `model.fit` does.

Each member is then written back into the model (`assign_member`) and measured exactly as
a single trained model is. No Ray, no MLflow: the pure core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

#: a member's global beta at an epoch (0-based)
Schedule = Callable[[int], float]


@dataclass
class PopulationState:
    """The stacked variables of K members (leading axis K) of one model."""

    trainable: list
    non_trainable: list
    optimizer: list
    beta_slots: list[tuple[int, float]]  # (index in non_trainable, layer scale) per HGQ layer
    ebops_slots: list[int]  # index in non_trainable of each HGQ layer's `_ebops`
    losses: list = field(default_factory=list)  # per epoch: (K,) mean training loss

    @property
    def size(self) -> int:
        return int(self.trainable[0].shape[0])


def _beta_slots(model, scales: dict[str, float] | None) -> tuple[list[tuple[int, float]], list[int]]:
    from ._compat import flatten_layers, layer_beta

    ids = {id(v): i for i, v in enumerate(model.non_trainable_variables)}
    betas, ebops = [], []
    for layer in flatten_layers(model, include_self=False):
        beta = layer_beta(layer)
        if beta is None:
            continue
        betas.append((ids[id(beta)], float((scales or {}).get(layer.name, 1.0))))
        ebops.append(ids[id(layer._ebops)])
    return betas, ebops


def init_population(build: Callable[[int], Any], seeds: Sequence[int], compile: Callable[[Any], None], beta_scales: dict[str, float] | None = None):
    """(template model, PopulationState) for one member per seed.

    `build(seed)` returns a built model (same architecture for every seed; it should set the
    seed itself, e.g. `_compat.set_random_seed` then `models.build_model`). The template is
    the first seed's model, `compile(template)` compiles it (e.g. `models.compile_model`);
    its optimizer is built on its trainable variables and its (fresh) state stacked K times.
    `beta_scales`: {layer name: factor} applied to every member's global beta (the space's
    `beta_scale_<layer>`)."""
    import jax.numpy as jnp

    models = [build(int(s)) for s in seeds]
    template = models[0]
    shapes = [tuple(v.shape) for v in template.variables]
    for m in models[1:]:
        if [tuple(v.shape) for v in m.variables] != shapes:
            raise ValueError("population members must share one architecture")
    compile(template)
    optimizer = template.optimizer
    optimizer.build(template.trainable_variables)

    def stack(get):
        return [jnp.stack([jnp.asarray(vals[i]) for vals in map(get, models)]) for i in range(len(get(models[0])))]

    trainable = stack(lambda m: [v.value for v in m.trainable_variables])
    non_trainable = stack(lambda m: [v.value for v in m.non_trainable_variables])
    opt = [jnp.stack([v.value] * len(models)) for v in optimizer.variables]
    betas, ebops = _beta_slots(template, beta_scales)
    return template, PopulationState(trainable, non_trainable, opt, betas, ebops)


def set_betas(state: PopulationState, betas: Sequence[float]) -> None:
    """Every member's HGQ layers get beta = its global beta times the layer's scale."""
    import jax.numpy as jnp

    glob = np.asarray(betas, dtype=np.float64)
    for index, scale in state.beta_slots:
        old = state.non_trainable[index]
        state.non_trainable[index] = jnp.asarray(glob * scale, dtype=old.dtype)


def make_steps(model, optimizer, loss_fn, members: str = "vmap"):
    """(epoch_fn, step_fn), both jitted and vmapped over members:
    `epoch_fn(tv, ntv, ov, x, y, idx, w)` runs the batches `idx` (n_batches, batch) in a
    scan, each sample's loss weighted by `w` (same shape; a short last batch is padded with
    copies of its own samples at weight 0, so that the whole epoch is one program);
    `step_fn(tv, ntv, ov, xb, yb)` one batch. Both return (tv, ntv, ov, mean loss per member).

    `members`: "vmap" vectorizes the members (`jax.vmap`); "map" runs them one after the
    other inside the same program (`jax.lax.map`): no vectorization, but still one dispatch
    per epoch. vmap turns a convolution whose input differs per member (after each member's
    input quantizer) into one grouped convolution (`feature_group_count=K`), which XLA's CPU
    backend runs far slower than K plain ones on larger images (the MNIST model)."""
    import jax
    import jax.numpy as jnp

    def member_step(tv, ntv, ov, xb, yb, wb=None):
        def total(tv):
            y_pred, new_ntv, losses = model.stateless_call(tv, ntv, xb, training=True, return_losses=True)
            if wb is None:
                loss = loss_fn(yb, y_pred)
            else:  # the loss' own mean over the real samples: weights scaled to mean 1 (exactly 1 in a full batch)
                loss = loss_fn(yb, y_pred, sample_weight=wb * (wb.shape[0] / jnp.sum(wb)))
            for extra in losses:
                loss = loss + jnp.sum(extra)
            return loss, new_ntv

        (loss, new_ntv), grads = jax.value_and_grad(total, has_aux=True)(tv)
        new_tv, new_ov = optimizer.stateless_apply(ov, grads, tv)
        return new_tv, new_ntv, new_ov, loss

    if members == "vmap":
        batched = jax.vmap(member_step, in_axes=(0, 0, 0, None, None))
        weighted = jax.vmap(member_step, in_axes=(0, 0, 0, None, None, None))
    elif members == "map":
        def batched(tv, ntv, ov, xb, yb):
            return jax.lax.map(lambda s: member_step(*s, xb, yb), (tv, ntv, ov))

        def weighted(tv, ntv, ov, xb, yb, wb):
            return jax.lax.map(lambda s: member_step(*s, xb, yb, wb), (tv, ntv, ov))
    else:
        raise ValueError(f"members must be 'vmap' or 'map', not {members!r}")

    @jax.jit
    def step_fn(tv, ntv, ov, xb, yb):
        return batched(tv, ntv, ov, xb, yb)

    @jax.jit
    def epoch_fn(tv, ntv, ov, x, y, idx, w):
        def body(carry, batch):
            tv, ntv, ov = carry
            ids, wb = batch
            tv, ntv, ov, loss = weighted(tv, ntv, ov, x[ids], y[ids], wb)
            return (tv, ntv, ov), loss

        (tv, ntv, ov), losses = jax.lax.scan(body, (tv, ntv, ov), (idx, w))
        return tv, ntv, ov, jnp.mean(losses, axis=0)

    return epoch_fn, step_fn


def train_population(
    model,
    state: PopulationState,
    schedules: Sequence[Schedule],
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    batch_size: int,
    loss_fn=None,
    shuffle: bool = True,
    scan: bool = True,
    members: str = "vmap",
    on_epoch_end: Callable[[int, PopulationState], None] | None = None,
) -> PopulationState:
    """Train the population `epochs` epochs on (x, y), every member on the same batches.

    The batch order is Keras' own for numpy arrays under JAX: each epoch a permutation
    from NumPy's global generator (`np.random.permutation`), batches in order, the last one
    short. `schedules[k](epoch)` is member k's global beta in that epoch. `loss_fn(y,
    y_pred)` is the task loss (default: the loss the model was compiled with); `members`:
    vectorized ("vmap") or one after the other in the program ("map"), see `make_steps`.
    `on_epoch_end(epoch, state)` may look at (not replace) the members after each epoch."""
    import jax.numpy as jnp

    if len(schedules) != state.size:
        raise ValueError(f"{len(schedules)} schedules for {state.size} members")
    optimizer = model.optimizer
    loss_fn = loss_fn or model.loss
    epoch_fn, step_fn = _steps_for(model, optimizer, loss_fn, members)
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    n = len(x)
    tv, ntv, ov = state.trainable, state.non_trainable, state.optimizer
    for epoch in range(epochs):
        state.non_trainable = ntv
        set_betas(state, [s(epoch) for s in schedules])
        ntv = state.non_trainable
        order = np.random.permutation(n) if shuffle else np.arange(n)
        if scan:
            idx, w = _epoch_batches(order, batch_size)
            tv, ntv, ov, loss = epoch_fn(tv, ntv, ov, xj, yj, jnp.asarray(idx), jnp.asarray(w))
            state.losses.append(np.asarray(loss))
        else:
            losses = []
            for b in range(0, n, batch_size):
                ids = order[b : b + batch_size]
                tv, ntv, ov, loss = step_fn(tv, ntv, ov, xj[ids], yj[ids])
                losses.append(loss)
            state.losses.append(np.asarray(sum(losses)) / len(losses))
        state.trainable, state.non_trainable, state.optimizer = tv, ntv, ov
        if on_epoch_end is not None:
            on_epoch_end(epoch, state)
    return state


def _epoch_batches(order: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """An epoch's batches as (indices, weights), each (n_batches, batch_size): the last batch,
    if short, filled up with its own first samples again (`np.resize`) at weight 0. HGQ's
    quantizers' range updates in training take a batch's maximum, which copies of the
    batch's own samples leave as they are; the weights leave them out of the loss."""
    n = len(order)
    full, rest = divmod(n, batch_size)
    idx = [order[: full * batch_size].reshape(full, batch_size)]
    w = [np.ones((full, batch_size), np.float32)]
    if rest:
        last = order[full * batch_size :]
        idx.append(np.resize(last, batch_size)[None])
        w.append((np.arange(batch_size) < rest).astype(np.float32)[None])
    return np.concatenate(idx), np.concatenate(w)


_STEPS: dict = {}


def _steps_for(model, optimizer, loss_fn, members):
    key = (id(model), id(optimizer), id(loss_fn), members)
    if key not in _STEPS:
        _STEPS.clear()  # one population at a time: don't keep old models alive
        _STEPS[key] = make_steps(model, optimizer, loss_fn, members)
    return _STEPS[key]


def assign_member(model, state: PopulationState, k: int) -> None:
    """Write member k's variables into `model` (the template or any model of the architecture)."""
    for v, value in zip(model.trainable_variables, state.trainable):
        v.assign(value[k])
    for v, value in zip(model.non_trainable_variables, state.non_trainable):
        v.assign(value[k])


def member_ebops(state: PopulationState) -> np.ndarray:
    """(K,) the EBOPs each member's last training step stored (before any trace_minmax)."""
    return np.sum([np.asarray(state.non_trainable[i], dtype=np.float64) for i in state.ebops_slots], axis=0)


def ramp(beta: float, beta_final: float, epochs: int) -> Schedule:
    """A log-linear ramp from beta to beta_final over `epochs`, as a trial ramps (`beta.beta_at`)."""
    from .beta import beta_at

    params = {"beta": beta, "beta_final": beta_final, "beta_schedule": "ramp", "epochs": epochs}
    return lambda epoch: beta_at(params, epoch)


def measure_members(model, state: PopulationState, measure: Callable[[Any], Any]) -> list:
    """`measure(model)` for each member in turn, the member's variables written into `model`
    first (`assign_member`): every member measured as a single trained model is (e.g. HGQ's
    trace_minmax, then accuracy and EBOPs; `measure` may change the model's variables, the
    population's state stays as trained)."""
    return [(assign_member(model, state, k), measure(model))[1] for k in range(state.size)]


def make_check(model, state: PopulationState, chunk: int = 1024):
    """`check(calibration, x) -> (ebops (K,), outputs (K, len(x), ...))`: every member traced
    on the calibration samples (HGQ's trace_minmax: the ranges of those samples alone), then
    its outputs on `x` (inference), all members in one program per pass (vmapped) — the
    population's version of `compiled.compiled_check`, for harvesting members every epoch.
    The population's state is left as trained."""
    import jax
    import jax.numpy as jnp

    from ._compat import flatten_layers, tracing_flag

    tracing = tracing_flag()
    ids = {id(v): i for i, v in enumerate(model.non_trainable_variables)}
    resets = []  # (index, value) that `_compat.reset_minmax` assigns: WRAP-mode quantizers' i and k
    for layer in flatten_layers(model):
        if hasattr(layer, "_i_decay_speed") and layer.trainable:
            resets += [(ids[id(layer._i)], -1e9), (ids[id(layer._k)], 0)]

    traced = jax.jit(jax.vmap(lambda tv, ntv, x: model.stateless_call(tv, ntv, x, training=tracing)[1], in_axes=(0, 0, None)))
    inferred = jax.jit(jax.vmap(lambda tv, ntv, x: model.stateless_call(tv, ntv, x, training=False)[0], in_axes=(0, 0, None)))

    def chunks(x):
        for i in range(0, len(x), chunk):
            part = x[i : i + chunk]
            n = len(part)
            if n < chunk:  # as compiled._chunks: filled up with the array's first rows
                part = np.concatenate([part, np.resize(x, (chunk - n, *x.shape[1:]))])
            yield part, n

    def check(calibration: np.ndarray, x: np.ndarray):
        tv = state.trainable
        ntv = list(state.non_trainable)
        for index, value in resets:
            ntv[index] = jnp.full_like(ntv[index], value)
        for part, _ in chunks(calibration):
            ntv = traced(tv, ntv, part)
        ebops = np.sum([np.asarray(ntv[i], dtype=np.float64) for i in state.ebops_slots], axis=0)
        outs = [np.asarray(inferred(tv, ntv, part))[:, :n] for part, n in chunks(x)]
        return ebops, np.concatenate(outs, axis=1)

    return check
