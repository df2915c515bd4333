import gzip

import numpy as np
import pytest

from hgq_automl.data import load_dataset
from hgq_automl.errors import UsageError
from hgq_automl.space import DatasetSpec

from .conftest import SHARED_MNIST


def test_digits_split_is_fixed_and_disjoint():
    a = load_dataset(DatasetSpec(name="digits"))
    b = load_dataset(DatasetSpec(name="digits"))
    assert a.sizes() == {"train": 1079, "val": 359, "test": 359}
    assert a.input_shape == (8, 8) and a.n_classes == 10
    assert a.x_train.dtype == np.float32 and 0 <= a.x_train.min() and a.x_train.max() <= 1
    np.testing.assert_array_equal(a.x_val, b.x_val)
    rows = np.concatenate([a.x_train, a.x_val, a.x_test]).reshape(1797, -1)
    original = load_dataset(DatasetSpec(name="digits", val_fraction=0.01, test_fraction=0.01))
    every = np.concatenate([original.x_train, original.x_val, original.x_test]).reshape(1797, -1)
    # the three splits are a permutation of the whole dataset: nothing lost, nothing twice
    np.testing.assert_array_equal(np.sort(rows, axis=0), np.sort(every, axis=0))


def test_max_samples_and_fractions():
    s = load_dataset(DatasetSpec(name="digits", max_samples=100, val_fraction=0.1, test_fraction=0.3))
    assert s.sizes() == {"train": 60, "val": 10, "test": 30}


def test_mnist_from_the_shared_idx_files():
    if not SHARED_MNIST.is_dir():
        pytest.fail(f"the MNIST test split is expected beside the checkout at {SHARED_MNIST}")
    s = load_dataset(DatasetSpec(name="mnist", path=str(SHARED_MNIST), max_samples=2000))
    assert s.input_shape == (28, 28) and s.n_classes == 10
    assert sum(s.sizes().values()) == 2000
    assert 0 <= s.x_train.min() and s.x_train.max() <= 1


def test_mnist_from_npz_and_from_plain_idx(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8)
    y = np.arange(50) % 10
    np.savez(tmp_path / "m.npz", x_train=x[:40], y_train=y[:40], x_test=x[40:], y_test=y[40:])
    s = load_dataset(DatasetSpec(name="mnist", path=str(tmp_path / "m.npz")))
    assert sum(s.sizes().values()) == 50 and s.x_train.max() <= 1

    folder = tmp_path / "idx"
    folder.mkdir()
    header = bytes([0, 0, 8, 3]) + np.array([50, 28, 28], dtype=">u4").tobytes()
    (folder / "t10k-images-idx3-ubyte").write_bytes(header + x.tobytes())
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + np.array([50], dtype=">u4").tobytes() + y.astype(np.uint8).tobytes())
    s2 = load_dataset(DatasetSpec(name="mnist", path=str(folder)))
    assert sum(s2.sizes().values()) == 50


def test_truncated_idx_file_is_a_usage_error(tmp_path):
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3]) + np.array([5, 28, 28], dtype=">u4").tobytes() + b"\0" * 10)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + np.array([5], dtype=">u4").tobytes() + b"\0" * 5)
    with pytest.raises(UsageError, match="idx header says"):
        load_dataset(DatasetSpec(name="mnist", path=str(tmp_path)))


def test_tabular_csv_with_label_column_is_standardised(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(5, 3, (200, 16))
    labels = np.array(["g", "q", "t", "w", "z"])[rng.integers(0, 5, 200)]
    header = ",".join([f"f{i}" for i in range(16)] + ["label"])
    rows = [",".join([*map(str, row), lab]) for row, lab in zip(x, labels)]
    (tmp_path / "jets.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    s = load_dataset(DatasetSpec(name="tabular", path=str(tmp_path / "jets.csv")))
    assert s.input_shape == (16,) and s.n_classes == 5
    assert abs(float(s.x_train.mean())) < 0.05 and abs(float(s.x_train.std()) - 1) < 0.05
    with pytest.raises(UsageError, match="no label column 'class'"):
        load_dataset(DatasetSpec(name="tabular", path=str(tmp_path / "jets.csv"), label_column="class"))


def test_tabular_npz_with_one_hot_labels(tmp_path):
    x = np.random.default_rng(2).normal(size=(100, 16)).astype(np.float32)
    y = np.eye(5)[np.arange(100) % 5]
    np.savez(tmp_path / "jets.npz", x=x, y=y)
    s = load_dataset(DatasetSpec(name="tabular", path=str(tmp_path / "jets.npz")))
    assert s.n_classes == 5 and s.y_train.ndim == 1
    np.savez(tmp_path / "bad.npz", features=x)
    with pytest.raises(UsageError, match="needs arrays x and y"):
        load_dataset(DatasetSpec(name="tabular", path=str(tmp_path / "bad.npz")))


def test_batches_give_every_sample_once_per_epoch_reshuffled_and_keep_to_one_thread():
    from hgq_automl.data import batches

    x = np.arange(70, dtype=np.float32).reshape(35, 2)  # row i holds 2i, 2i+1
    y = np.arange(35, dtype=np.int64)
    dataset = batches(x, y, 8, shuffle=True, seed=3)
    epochs = []
    for _ in range(2):
        parts = [(bx.numpy(), by.numpy()) for bx, by in dataset]
        assert [len(by) for _, by in parts] == [8, 8, 8, 8, 3]  # the last batch partial
        for bx, by in parts:
            np.testing.assert_array_equal(bx, x[by])  # samples stay with their labels
        epochs.append(np.concatenate([by for _, by in parts]))
    for order in epochs:
        np.testing.assert_array_equal(np.sort(order), y)  # each sample exactly once
    assert not np.array_equal(epochs[0], epochs[1])  # reshuffled each epoch
    assert not np.array_equal(epochs[0], y)
    again = np.concatenate([by.numpy() for _, by in batches(x, y, 8, shuffle=True, seed=3)])
    np.testing.assert_array_equal(again, epochs[0])  # the seed fixes the order
    plain = np.concatenate([by.numpy() for _, by in batches(x, y, 8)])
    np.testing.assert_array_equal(plain, y)  # validation data: in order
    options = dataset.options()
    assert options.autotune.enabled is False and options.threading.private_threadpool_size == 1


def test_digits_split_is_stratified():
    s = load_dataset(DatasetSpec(name="digits"))
    counts = np.bincount(np.concatenate([s.y_train, s.y_val, s.y_test]), minlength=10)
    for part in (s.y_train, s.y_val, s.y_test):
        expected = counts * len(part) / counts.sum()
        assert np.abs(np.bincount(part, minlength=10) - expected).max() <= 1  # every class in the data's proportion
    assert s.task == "classification" and s.n_outputs == 10 and s.notes == ()
