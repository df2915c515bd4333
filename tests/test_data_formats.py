"""The `arrays` dataset: a user's own files in every format, fixed splits, task-aware labels,
and one-line errors for every kind of bad input (real files from scikit-learn's datasets)."""

import gzip
import json

import h5py
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from hgq_automl.data import load_dataset
from hgq_automl.errors import SpaceError, UsageError
from hgq_automl.space import DataSource, load_space, parse_space

from .conftest import write

WINE = load_wine()  # 178 x 13, classes 0 1 2
X, Y = WINE.data, WINE.target


def space(dataset: dict, source: str = "s.yaml"):
    return parse_space({"dataset": {"name": "arrays", **dataset}}, source)


def load(task: str = "classification", **dataset):
    return load_dataset(space(dataset).dataset, task)


def rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Samples with their labels as sorted rows: equal for the same set of samples."""
    both = np.concatenate([x.reshape(len(x), -1), y.reshape(len(y), -1).astype(np.float32)], axis=1)
    return both[np.lexsort(both.T[::-1])]


def every_sample(s):
    return rows(np.concatenate([s.x_train, s.x_val, s.x_test]), np.concatenate([s.y_train, s.y_val, s.y_test]))


def one_line_error(exc_type, match: str, fn, *args, **kwargs) -> str:
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and match in message, message
    return message


def wine_files(tmp_path) -> dict[str, dict]:
    """Wine in every format, as dataset keys that read it."""
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    np.savez(tmp_path / "wine.npz", x=X, y=Y)
    np.savez(tmp_path / "keyed.npz", feats=X, target=Y, other=np.zeros(3))
    with h5py.File(tmp_path / "wine.h5", "w") as f:
        f["x"], f["y"] = X, Y
    with h5py.File(tmp_path / "nested.hdf5", "w") as f:
        f["data/features"], f["data/labels"] = X, Y
    frame = pd.DataFrame(X, columns=WINE.feature_names).assign(cultivar=Y)
    frame.to_csv(tmp_path / "wine.csv", index=False)
    frame.to_parquet(tmp_path / "wine.parquet")
    return {
        "npy": {"x": str(tmp_path / "x.npy"), "y": str(tmp_path / "y.npy")},
        "npz": {"path": str(tmp_path / "wine.npz")},
        "npz keys": {"path": str(tmp_path / "keyed.npz"), "x_key": "feats", "y_key": "target"},
        "h5": {"path": str(tmp_path / "wine.h5")},
        "hdf5 keys": {"path": str(tmp_path / "nested.hdf5"), "x_key": "data/features", "y_key": "data/labels"},
        "csv": {"path": str(tmp_path / "wine.csv"), "label_column": "cultivar"},
        "parquet": {"path": str(tmp_path / "wine.parquet"), "label_column": "cultivar"},
    }


def test_every_format_reads_back_the_source_arrays(tmp_path):
    source = rows(X.astype(np.float32), Y)
    for fmt, keys in wine_files(tmp_path).items():
        s = load(**keys)
        assert s.sizes() == {"train": 106, "val": 36, "test": 36}, fmt  # round(178 x 0.2) = 36
        assert s.input_shape == (13,) and s.n_classes == 3 and s.notes == (), fmt
        assert s.x_train.dtype == np.float32 and s.y_train.dtype == np.int64 and s.y_train.ndim == 1, fmt
        np.testing.assert_array_equal(every_sample(s), source, err_msg=fmt)  # not standardized, nothing lost
        # as a fixed split the file's order is kept exactly
        fixed = load(train=keys, val=keys, test=keys)
        np.testing.assert_array_equal(fixed.x_train, X.astype(np.float32), err_msg=fmt)
        np.testing.assert_array_equal(fixed.y_test, Y, err_msg=fmt)


def test_any_feature_shape_and_the_npz_train_test_convention(tmp_path):
    images = np.random.default_rng(0).normal(size=(60, 4, 5, 2)).astype(np.float32)
    labels = np.arange(60) % 3
    np.savez(tmp_path / "img.npz", x_train=images[:40], y_train=labels[:40], x_test=images[40:], y_test=labels[40:])
    s = load(path=str(tmp_path / "img.npz"))
    assert s.input_shape == (4, 5, 2) and sum(s.sizes().values()) == 60
    np.testing.assert_array_equal(every_sample(s), rows(images, labels))
    np.save(tmp_path / "one.npy", np.arange(30.0))
    np.save(tmp_path / "t.npy", np.arange(30.0) * 2)
    r = load("regression", x=str(tmp_path / "one.npy"), y=str(tmp_path / "t.npy"))
    assert r.input_shape == (1,) and any("one feature per sample" in n for n in r.notes)
    np.testing.assert_array_equal(r.y_train, r.x_train * 2)


def test_fixed_splits_are_used_as_given(tmp_path):
    np.savez(tmp_path / "train.npz", x=X[:100], y=Y[:100])
    pd.DataFrame(X[100:140]).assign(label=Y[100:140]).to_csv(tmp_path / "val.csv", index=False)
    with h5py.File(tmp_path / "test.h5", "w") as f:
        f["features"], f["y"] = X[140:], Y[140:]
    s = load(train=str(tmp_path / "train.npz"), val=str(tmp_path / "val.csv"), test={"path": str(tmp_path / "test.h5"), "x_key": "features"})
    assert s.sizes() == {"train": 100, "val": 40, "test": 38}
    for got, want in ((s.x_train, X[:100]), (s.x_val, X[100:140]), (s.x_test, X[140:])):
        np.testing.assert_array_equal(got, want.astype(np.float32))
    for got, want in ((s.y_train, Y[:100]), (s.y_val, Y[100:140]), (s.y_test, Y[140:])):
        np.testing.assert_array_equal(got, want)
    # standardize: true uses the train split's statistics for all three
    z = load(train=str(tmp_path / "train.npz"), val=str(tmp_path / "val.csv"), test={"path": str(tmp_path / "test.h5"), "x_key": "features"}, standardize=True)
    mean, std = X[:100].mean(axis=0), X[:100].std(axis=0)
    np.testing.assert_allclose(z.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(z.x_test, (X[140:] - mean) / std, rtol=1e-4, atol=1e-5)


def test_standardize_is_off_for_arrays_unless_asked(tmp_path):
    keys = wine_files(tmp_path)["npz"]
    plain, scaled = load(**keys), load(**keys, standardize=True)
    assert float(plain.x_train.max()) > 100  # proline is in the hundreds
    np.testing.assert_allclose(scaled.x_train.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(scaled.x_train.std(axis=0), 1, atol=1e-4)
    np.testing.assert_array_equal(plain.y_val, scaled.y_val)  # the same split


def test_random_split_is_stratified_and_falls_back_when_a_class_is_too_small(tmp_path):
    cancer = load_breast_cancer()  # 212 malignant, 357 benign
    np.savez(tmp_path / "bc.npz", x=cancer.data, y=cancer.target)
    s = load(path=str(tmp_path / "bc.npz"), val_fraction=0.1, test_fraction=0.15, seed=3)
    assert s.sizes() == {"train": 427, "val": 57, "test": 85}
    share = cancer.target.mean()
    for part in (s.y_train, s.y_val, s.y_test):
        assert abs(part.sum() - share * len(part)) <= 1  # each split holds the classes in the data's proportions
    assert s.notes == ()
    again = load(path=str(tmp_path / "bc.npz"), val_fraction=0.1, test_fraction=0.15, seed=3)
    np.testing.assert_array_equal(again.x_val, s.x_val)  # seeded
    other = load(path=str(tmp_path / "bc.npz"), val_fraction=0.1, test_fraction=0.15, seed=4)
    assert not np.array_equal(other.x_val, s.x_val)

    y = np.array([0] * 30 + [1] * 29 + [2])  # class 2 has one sample: cannot be stratified
    np.savez(tmp_path / "rare.npz", x=np.arange(60.0)[:, None], y=y)
    r = load(path=str(tmp_path / "rare.npz"))
    assert r.sizes() == {"train": 36, "val": 12, "test": 12}
    assert len(r.notes) == 1 and r.notes[0].startswith("dataset: split unstratified, a class has too few samples")


def test_regression_targets(tmp_path):
    diabetes = load_diabetes()  # 442 x 10, one continuous target
    np.save(tmp_path / "x.npy", diabetes.data)
    np.save(tmp_path / "y.npy", diabetes.target)
    s = load("regression", x=str(tmp_path / "x.npy"), y=str(tmp_path / "y.npy"))
    assert s.task == "regression" and s.n_outputs == 1 and s.notes == ()
    assert s.y_train.shape == (266, 1) and s.y_train.dtype == np.float32
    np.testing.assert_array_equal(every_sample(s), rows(diabetes.data.astype(np.float32), diabetes.target))
    with pytest.raises(ValueError, match="use n_outputs"):
        s.n_classes

    frame = pd.DataFrame(diabetes.data, columns=diabetes.feature_names).assign(progression=diabetes.target, half=diabetes.target / 2)
    frame.to_csv(tmp_path / "two.csv", index=False)
    two = load("regression", path=str(tmp_path / "two.csv"), label_columns=["progression", "half"])
    assert two.y_train.shape == (266, 2) and two.n_outputs == 2 and two.input_shape == (10,)
    np.testing.assert_allclose(two.y_train[:, 1], two.y_train[:, 0] / 2)
    # the order of label_columns is the order of the targets; the other columns are the features
    swapped = load("regression", path=str(tmp_path / "two.csv"), label_columns=["half", "progression"])
    np.testing.assert_array_equal(swapped.y_train, two.y_train[:, ::-1])
    # classification of several columns that are not one-hot: refused, pointing at regression
    one_line_error(UsageError, "task: regression", load, path=str(tmp_path / "two.csv"), label_columns=["progression", "half"])


def test_labels_are_made_class_indices(tmp_path):
    def labels(y, name):
        np.savez(tmp_path / f"{name}.npz", x=X, y=y)
        return load(path=str(tmp_path / f"{name}.npz"))

    gaps = labels(np.array([1, 2, 5])[Y], "gaps")
    assert gaps.notes == ("dataset: labels [1, 2, 5] remapped to 0..2",) and gaps.n_classes == 3
    base = labels(Y, "base")
    np.testing.assert_array_equal(gaps.y_test, base.y_test)  # order kept: 1 -> 0, 2 -> 1, 5 -> 2
    text = labels(np.array(["barolo", "grignolino", "barbera"])[Y], "text")
    assert text.notes == ("dataset: labels ['barbera', 'barolo', 'grignolino'] remapped to 0..2",)
    np.testing.assert_array_equal(every_sample(text), rows(X.astype(np.float32), np.array([1, 2, 0])[Y]))  # each sample keeps its class
    onehot = labels(np.eye(3)[Y], "onehot")
    assert onehot.notes == () and onehot.y_train.ndim == 1
    np.testing.assert_array_equal(onehot.y_train, base.y_train)
    whole = labels(Y.astype(float), "whole")
    np.testing.assert_array_equal(whole.y_val, base.y_val)
    np.savez(tmp_path / "cont.npz", x=X, y=Y + 0.5)
    one_line_error(UsageError, "cont.npz: class labels must be whole numbers or text; got 0.5 (for continuous targets use task: regression)", load, path=str(tmp_path / "cont.npz"))
    # regression takes the same labels as numbers, unchanged
    r = load("regression", path=str(tmp_path / "cont.npz"))
    np.testing.assert_array_equal(np.sort(np.concatenate([r.y_train, r.y_val, r.y_test])[:, 0]), np.sort(Y + 0.5).astype(np.float32))
    # fixed splits: one mapping for all three
    np.savez(tmp_path / "a.npz", x=X[:100], y=np.array([10, 20, 30])[Y[:100]])
    np.savez(tmp_path / "b.npz", x=X[100:], y=np.array([10, 20, 30])[Y[100:]])
    f = load(train=str(tmp_path / "a.npz"), val=str(tmp_path / "b.npz"), test=str(tmp_path / "b.npz"))
    np.testing.assert_array_equal(f.y_val, Y[100:])


def test_bad_files_are_one_line_usage_errors(tmp_path):
    files = wine_files(tmp_path)

    def fails(match, task="classification", **keys):
        return one_line_error(UsageError, match, load, task, **keys)

    np.save(tmp_path / "short.npy", Y[:-1])
    fails("short.npy: 178 samples of features but 177 labels", x=files["npy"]["x"], y=str(tmp_path / "short.npy"))
    bad = X.copy()
    bad[7, 3] = np.nan
    np.savez(tmp_path / "nan.npz", x=bad, y=Y)
    fails("nan.npz: NaN or inf in the features (first at sample 7)", path=str(tmp_path / "nan.npz"))
    np.savez(tmp_path / "inf.npz", x=X, y=np.where(np.arange(178) == 9, np.inf, 1.0))
    fails("inf.npz: NaN or inf in the targets (first at sample 9)", "regression", path=str(tmp_path / "inf.npz"))
    pd.DataFrame(X).assign(label=np.where(np.arange(178) == 4, np.nan, Y)).to_csv(tmp_path / "gap.csv", index=False)
    fails("gap.csv: label column 'label' has an empty or NaN value (first at row 4)", path=str(tmp_path / "gap.csv"))

    garbage = bytes(range(256)) * 4
    for name in ("junk.npz", "junk.h5", "junk.parquet", "junk.npy"):
        (tmp_path / name).write_bytes(garbage)
    fails("junk.npz: not an .npz file (not a zip archive)", path=str(tmp_path / "junk.npz"))
    (tmp_path / "cut.npz").write_bytes((tmp_path / "wine.npz").read_bytes()[:3000])
    fails("cut.npz: not an .npz file (not a zip archive)", path=str(tmp_path / "cut.npz"))
    spoilt = bytearray((tmp_path / "wine.npz").read_bytes())
    at = spoilt.index(b"\x93NUMPY")
    spoilt[at : at + 6] = b"garbag"  # the first array's header: the archive is intact, the array is not
    (tmp_path / "spoilt.npz").write_bytes(bytes(spoilt))
    fails("spoilt.npz: cannot be read as .npz (", path=str(tmp_path / "spoilt.npz"))
    fails("junk.h5: cannot be read as HDF5 (", path=str(tmp_path / "junk.h5"))
    fails("junk.parquet: cannot be read as parquet (", path=str(tmp_path / "junk.parquet"))
    fails("junk.npy: not a .npy file", x=str(tmp_path / "junk.npy"), y=files["npy"]["y"])
    write(tmp_path / "ragged.csv", "a,b,label\n1,2,0\n3,4,5,6\n")
    fails("ragged.csv: cannot be read as CSV (ParserError", path=str(tmp_path / "ragged.csv"))

    msg = fails("keyed.npz: no array 'feats2' (set dataset x_key / y_key); it has feats, other, target", path=files["npz keys"]["path"], x_key="feats2", y_key="target")
    fails("nested.hdf5: no dataset 'x' (set dataset x_key / y_key); it has data/features, data/labels", path=files["hdf5 keys"]["path"])
    fails("wine.csv: no label column 'label'; columns are alcohol, malic_acid", path=files["csv"]["path"])
    fails("wine.parquet: no label column 'grape'", path=files["parquet"]["path"], label_columns=["grape"])
    assert "feats2" in msg

    (tmp_path / "empty.csv").write_text("")
    fails("empty.csv: empty file", path=str(tmp_path / "empty.csv"))
    (tmp_path / "empty.npy").write_bytes(b"")
    fails("empty.npy: empty file", x=str(tmp_path / "empty.npy"), y=files["npy"]["y"])
    write(tmp_path / "header.csv", "a,b,label\n")
    fails("header.csv: holds no samples", path=str(tmp_path / "header.csv"))
    write(tmp_path / "text.csv", "a,b,label\n1,x,0\n2,y,1\n")
    fails("text.csv: feature columns must be numeric; b are not", path=str(tmp_path / "text.csv"))
    np.savez(tmp_path / "one.npz", x=X, y=np.zeros(178))
    fails("one.npz: every label is 0; classification needs at least 2 classes", path=str(tmp_path / "one.npz"))

    np.savez(tmp_path / "narrow.npz", x=X[:, :12], y=Y)
    fails(f"narrow.npz: the val split's samples have shape (12,), the train split's ({tmp_path / 'wine.npz'}) (13,)",
          train=files["npz"]["path"], val=str(tmp_path / "narrow.npz"), test=files["npz"]["path"])


def test_corrupt_mnist_files_are_one_line_usage_errors(tmp_path):
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + np.array([5], dtype=">u4").tobytes() + b"\0" * 5)
    one_line_error(UsageError, "t10k-images-idx3-ubyte.gz: cannot be read as an idx file (gzip) (BadGzipFile", load_dataset, parse_space({"dataset": {"name": "mnist", "path": str(tmp_path)}}).dataset)
    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 3, 0, 0]))  # the dimensions cut short
    one_line_error(UsageError, "t10k-images-idx3-ubyte.gz: idx header cut short", load_dataset, parse_space({"dataset": {"name": "mnist", "path": str(tmp_path)}}).dataset)
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04" + b"\0" * 50)
    one_line_error(UsageError, "junk.npz: not an .npz file (not a zip archive)", load_dataset, parse_space({"dataset": {"name": "mnist", "path": str(tmp_path / "junk.npz")}}).dataset)


def test_space_errors_name_the_key(tmp_path):
    files = wine_files(tmp_path)
    npz, csv, x = files["npz"]["path"], files["csv"]["path"], files["npy"]["x"]
    splits = {"train": npz, "val": npz, "test": npz}
    cases = [
        ({**splits, "val_fraction": 0.1}, "dataset.val_fraction: the train/val/test files fix the split; drop this key"),
        ({**splits, "max_samples": 100}, "dataset.max_samples: the train/val/test files fix the split"),
        ({**splits, "seed": 1}, "dataset.seed: the train/val/test files fix the split"),
        ({"train": npz, "test": npz, "test_fraction": 0.3}, "dataset.test_fraction: the train/test files fix the split; drop this key"),
        ({"train": npz, "test": npz, "max_samples": 100}, "dataset.max_samples: the train/test files fix the split; drop this key"),
        ({"train": npz, "val": npz}, "dataset.test: missing; fixed splits need train and test, and val unless it is carved from train by val_fraction"),
        ({"val": npz, "test": npz}, "dataset.train: missing; fixed splits need train and test"),
        ({**splits, "path": npz}, "dataset.path: the train/val/test files hold the data"),
        ({**splits, "test": {"path": npz, "label_column": "y"}}, "dataset.test.label_column: only applies to .csv and .parquet files"),
        ({**splits, "val": {"file": npz}}, "dataset.val.file: unknown key"),
        ({**splits, "val": 3}, "dataset.val: must be a path or a mapping"),
        ({**splits, "test": str(tmp_path / "nope.npz")}, f"dataset.test.path: no such file: {tmp_path / 'nope.npz'}"),
        ({}, "dataset.path: the arrays dataset needs its data: give dataset.path (or --data), dataset.x and dataset.y, or dataset.train/val/test"),
        ({"path": str(tmp_path / "wine.txt")}, "dataset.path: no such file"),
        ({"path": str(tmp_path)}, f"dataset.path: {tmp_path / 'keyed.npz'}: not a split file; a folder of splits holds train, val (optional) and test files"),
        ({"path": x}, "dataset.path: a file holding x and y must be .npz, .h5, .hdf5, .csv or .parquet; got"),
        ({"x": x}, "dataset.y: missing; x and y come as a pair of .npy files"),
        ({"x": npz, "y": x}, "dataset.x: x and y must be .npy files"),
        ({"path": npz, "x": x, "y": x}, "dataset.x: give path (one file holding x and y) or x and y (two .npy files), not both"),
        ({"path": csv, "x_key": "a"}, "dataset.x_key: only applies to .npz and .h5/.hdf5 files"),
        ({"path": npz, "label_column": "y"}, "dataset.label_column: only applies to .csv and .parquet files"),
        ({"path": csv, "label_column": "a", "label_columns": ["b"]}, "dataset.label_columns: give label_column (one target) or label_columns (several), not both"),
        ({"path": csv, "label_columns": []}, "dataset.label_columns: must be a non-empty list of column names"),
        ({"path": csv, "label_columns": ["a", "a"]}, "dataset.label_columns: has duplicates"),
        ({"path": npz, "standardize": "yes"}, "dataset.standardize: must be true or false; got 'yes'"),
    ]
    for dataset, message in cases:
        one_line_error(SpaceError, f"s.yaml: {message}", space, dataset)
    for name, key, value in (("digits", "x", x), ("diabetes", "train", npz), ("digits", "label_columns", ["a"])):
        one_line_error(SpaceError, f"dataset.{key}: only applies to the datasets that read files (mnist, tabular, arrays); this one is {name}", parse_space, {"dataset": {"name": name, key: value}}, "s.yaml")
    one_line_error(SpaceError, "dataset.standardize: only applies to the arrays and tabular datasets", parse_space, {"dataset": {"name": "digits", "standardize": True}}, "s.yaml")
    one_line_error(SpaceError, "dataset.path: the digits dataset ships with scikit-learn and reads no file", parse_space, {"dataset": {"path": npz}}, "s.yaml")


def test_data_flag(tmp_path):
    files = wine_files(tmp_path)
    npz = files["npz"]["path"]
    one_line_error(SpaceError, "search_spaces/digits_cnn.yaml: dataset.path: --data given, but the digits dataset ships with scikit-learn and reads no file; drop --data", load_space, "digits_cnn", data=npz)
    fixed = write(tmp_path / "fixed.yaml", f"dataset:\n  name: arrays\n  train: {npz}\n  val: {npz}\n  test: {npz}\n")
    one_line_error(SpaceError, "fixed.yaml: dataset.path: --data given, but the space names its train/val/test files (dataset.train)", load_space, fixed, data=npz)
    pair = write(tmp_path / "pair.yaml", f"dataset:\n  name: arrays\n  x: {files['npy']['x']}\n  y: {files['npy']['y']}\n")
    one_line_error(SpaceError, "pair.yaml: dataset.path: --data given, but the space names its data with dataset.x", load_space, pair, data=npz)
    own = write(tmp_path / "own.yaml", "dataset:\n  name: arrays\n  path: elsewhere.npz\nmodel:\n  family: mlp\n  input_shape: [13]\n")
    assert load_space(own, data=npz).dataset.path == npz  # --data replaces path
    one_line_error(SpaceError, "own.yaml: dataset.path: no such file: elsewhere.npz", load_space, own)


def test_to_dict_round_trips(tmp_path, monkeypatch):
    files = wine_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    datasets = [
        {"name": "digits"},
        {"name": "tabular", "path": "wine.csv", "label_column": "cultivar", "standardize": False, "max_samples": 50, "seed": 2},
        {"name": "arrays", "path": "wine.csv", "label_columns": ["cultivar"], "val_fraction": 0.1},
        {"name": "arrays", **files["npy"], "standardize": True},
        {"name": "arrays", **files["hdf5 keys"]},
        {"name": "arrays", "train": "wine.npz", "val": files["csv"], "test": files["npz keys"], "label_column": "cultivar"},
        {"name": "arrays", "x_key": "feats", "y_key": "target", "train": "keyed.npz", "val": "keyed.npz", "test": {"path": "wine.h5", "x_key": "x", "y_key": "y"}},
    ]
    for dataset in datasets:
        s = parse_space({"dataset": dataset}, "s.yaml")
        d = json.loads(json.dumps(s.to_dict()))  # as a resumable search keeps it
        again = parse_space(d, "s.yaml")
        assert again.dataset == s.dataset, dataset
        assert again.to_dict() == d
    d = parse_space({"dataset": datasets[5]}, "s.yaml").to_dict()["dataset"]
    assert d == {"name": "arrays", "label_column": "cultivar", "train": "wine.npz", "val": files["csv"], "test": files["npz keys"]}
    assert parse_space({"dataset": datasets[6]}).dataset.split_sources()["train"] == DataSource(path="keyed.npz", x_key="feats", y_key="target", label_column="label")
    assert parse_space({"dataset": {"name": "digits"}}).to_dict()["dataset"] == {"name": "digits", "label_column": "label", "val_fraction": 0.2, "test_fraction": 0.2, "seed": 0}
