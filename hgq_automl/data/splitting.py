"""Cutting one set of samples into train, validation and test: a seeded random split
(stratified by class for classification when every class allows), a validation set carved
out of a given train split, and standardization by the training samples' statistics."""

from __future__ import annotations

import numpy as np

from ..errors import UsageError, first_line
from ..space import DatasetSpec
from .splits import Splits


def split(x: np.ndarray, y: np.ndarray, spec: DatasetSpec, standardize: bool = False, task: str = "classification", notes: tuple[str, ...] = ()) -> Splits:
    """A random split of (x, y) into spec's fractions, seeded by spec.seed; stratified by
    class for classification when every class has enough samples (else unstratified, noted)."""
    rng = np.random.default_rng(spec.seed)
    order = rng.permutation(len(x))
    if spec.max_samples:
        order = order[: spec.max_samples]
    x, y = x[order], y[order]
    n_test = max(1, round(len(x) * spec.test_fraction))
    n_val = max(1, round(len(x) * spec.val_fraction))
    n_train = len(x) - n_val - n_test
    if n_train < 1:
        raise UsageError(f"dataset {spec.name}: {len(x)} samples leave none to train on")
    tr, va, te = np.arange(0, n_train), np.arange(n_train, n_train + n_val), np.arange(n_train + n_val, len(x))
    if task == "classification":
        try:
            tr, va, te = _stratified(y, n_val, n_test, spec.seed)
        except ValueError as exc:
            notes = (*notes, f"dataset: split unstratified, a class has too few samples to stratify ({first_line(exc)})")
    if standardize:
        x = _standardized(x, x[tr])
    x = x.astype(np.float32)
    return Splits(x[tr], y[tr], x[va], y[va], x[te], y[te], task=task, notes=tuple(notes))


def _stratified(y: np.ndarray, n_val: int, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train / val / test indices of these sizes, each holding the classes in y's proportions."""
    from sklearn.model_selection import train_test_split

    rest, te = train_test_split(np.arange(len(y)), test_size=n_test, stratify=y, random_state=seed)
    tr, va = train_test_split(rest, test_size=n_val, stratify=y[rest], random_state=seed)
    return tr, va, te


def _standardized(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    """x shifted and scaled by the training samples' per-feature mean and std (std 0 -> 1)."""
    mean, std = train.mean(axis=0), train.std(axis=0)
    return (x - mean) / np.where(std > 0, std, 1.0)


def _carved(x: np.ndarray, y: np.ndarray, test: tuple[np.ndarray, np.ndarray], spec: DatasetSpec, task: str, where: str, notes: list[str]) -> dict:
    """Train split into train and val (`spec.val_fraction` of it, seeded by `spec.seed`,
    stratified for classification when it can be); each part keeps the file's order."""
    n_val = max(1, round(len(x) * spec.val_fraction))
    if len(x) - n_val < 1:
        raise UsageError(f"{where}: {len(x)} training samples leave none to train on after carving val_fraction {spec.val_fraction:g} for validation")
    order = np.random.default_rng(spec.seed).permutation(len(x))
    tr, va = order[n_val:], order[:n_val]
    how = ""
    if task == "classification":
        from sklearn.model_selection import train_test_split

        try:
            tr, va = train_test_split(np.arange(len(x)), test_size=n_val, stratify=y, random_state=spec.seed)
            how = ", stratified"
        except ValueError as exc:
            how = f", unstratified: a class has too few samples to stratify ({first_line(exc)})"
    tr, va = np.sort(tr), np.sort(va)
    notes.append(f"dataset: validation carved from the train split ({where}): {n_val} of {len(x)} samples (val_fraction {spec.val_fraction:g}, seed {spec.seed}{how})")
    return {"train": (x[tr], y[tr]), "val": (x[va], y[va]), "test": test}
