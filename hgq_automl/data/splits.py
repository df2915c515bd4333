"""The data every trial of a search sees: `Splits` (train, validation and test arrays, the
task they are for, and what loading changed), the task names, and the splits' fingerprint
(sha256 of their arrays), which a resume and an export compare with the search's."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TASKS = ("classification", "regression")


@dataclass(frozen=True)
class Splits:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str = "classification"  # classification: y int64 (N,) in 0..K-1; regression: y float32 (N, k)
    notes: tuple[str, ...] = ()  # what loading changed or decided (labels remapped, split unstratified), to print

    @property
    def n_classes(self) -> int:
        if self.task != "classification":
            raise ValueError(f"{self.task} data has no classes; use n_outputs")
        return int(max(self.y_train.max(), self.y_val.max(), self.y_test.max())) + 1

    @property
    def n_outputs(self) -> int:
        """The model's outputs: classes for classification, targets for regression."""
        return self.n_classes if self.task == "classification" else int(self.y_train.shape[1])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.x_train), "val": len(self.x_val), "test": len(self.x_test)}


def fingerprint(data: Splits) -> str:
    """sha256 of the splits' arrays (shapes, dtypes and bytes): the same data gives the same text."""
    import hashlib

    digest = hashlib.sha256()
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        a = np.ascontiguousarray(getattr(data, name))
        digest.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()
