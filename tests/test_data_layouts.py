"""Data as it comes: fixed train + test with the validation set carved from train, the
hls4ml tutorial's four .npy files, a folder of split files as `--data`, every built-in
space reading every `arrays` format, and one line for anything ambiguous."""

import h5py
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits, load_wine

from hgq_automl.data import load_dataset
from hgq_automl.errors import SpaceError, UsageError
from hgq_automl.space import DataSource, load_space, parse_space

from .conftest import REPO, assert_one_line_error, can_unshare, run_cli
from .test_data_formats import one_line_error, rows

WINE = load_wine()  # 178 x 13, classes 0 1 2
X, Y = WINE.data.astype(np.float32), WINE.target
X_TRAIN, Y_TRAIN, X_TEST, Y_TEST = X[:140], Y[:140], X[140:], Y[140:]


def tutorial_folder(folder, x_train=X_TRAIN, y_train=Y_TRAIN):
    """The hls4ml tutorial's layout: X_train_val.npy, y_train_val.npy, X_test.npy, y_test.npy."""
    folder.mkdir(exist_ok=True)
    np.save(folder / "X_train_val.npy", x_train)
    np.save(folder / "y_train_val.npy", y_train)
    np.save(folder / "X_test.npy", X_TEST)
    np.save(folder / "y_test.npy", Y_TEST)
    return folder


def arrays(dataset: dict):
    return parse_space({"dataset": {"name": "arrays", **dataset}}, "s.yaml")


def test_train_and_test_files_carve_validation_from_train(tmp_path):
    np.savez(tmp_path / "train.npz", x=X_TRAIN, y=Y_TRAIN)
    np.savez(tmp_path / "test.npz", x=X_TEST, y=Y_TEST)
    spec = arrays({"train": str(tmp_path / "train.npz"), "test": str(tmp_path / "test.npz"), "val_fraction": 0.25, "seed": 4}).dataset
    s = load_dataset(spec)
    assert s.sizes() == {"train": 105, "val": 35, "test": 38}  # round(140 x 0.25) = 35
    np.testing.assert_array_equal(s.x_test, X_TEST)  # the test file exactly as given
    np.testing.assert_array_equal(s.y_test, Y_TEST)
    # train and val together are the train file, nothing lost or repeated
    np.testing.assert_array_equal(rows(np.concatenate([s.x_train, s.x_val]), np.concatenate([s.y_train, s.y_val])), rows(X_TRAIN, Y_TRAIN))
    assert sorted(set(s.y_val.tolist())) == [0, 1, 2]  # stratified: every class in val
    assert s.notes == (f"dataset: validation carved from the train split ({tmp_path / 'train.npz'}): 35 of 140 samples (val_fraction 0.25, seed 4, stratified)",)
    # the same seed gives the same carve; another seed another one
    np.testing.assert_array_equal(load_dataset(spec).x_val, s.x_val)
    other = arrays({"train": str(tmp_path / "train.npz"), "test": str(tmp_path / "test.npz"), "val_fraction": 0.25, "seed": 5}).dataset
    assert not np.array_equal(load_dataset(other).x_val, s.x_val)
    # train + val + test still used as given
    np.savez(tmp_path / "val.npz", x=X[:10], y=Y[:10])
    given = load_dataset(arrays({"train": str(tmp_path / "train.npz"), "val": str(tmp_path / "val.npz"), "test": str(tmp_path / "test.npz")}).dataset)
    assert given.sizes() == {"train": 140, "val": 10, "test": 38} and given.notes == ()
    np.testing.assert_array_equal(given.x_val, X[:10])


def test_space_naming_the_tutorial_files(tmp_path):
    folder = tutorial_folder(tmp_path / "tutorial")
    spec = arrays({
        "train": {"x": str(folder / "X_train_val.npy"), "y": str(folder / "y_train_val.npy")},
        "test": {"x": str(folder / "X_test.npy"), "y": str(folder / "y_test.npy")},
    }).dataset
    s = load_dataset(spec)
    assert s.sizes() == {"train": 112, "val": 28, "test": 38}  # val_fraction 0.2 of 140
    np.testing.assert_array_equal(s.x_test, X_TEST)


def test_data_flag_names_the_tutorial_folder(tmp_path):
    folder = tutorial_folder(tmp_path / "tutorial")
    own = tmp_path / "own.yaml"
    own.write_text("dataset: {name: arrays, val_fraction: 0.1}\nmodel: {family: mlp}\n")
    space = load_space(own, data=str(folder))
    assert space.dataset.path is None and space.dataset.val is None
    assert space.dataset.split_sources()["train"] == DataSource(x=str(folder / "X_train_val.npy"), y=str(folder / "y_train_val.npy"), label_column="label")
    s = load_dataset(space.dataset)
    assert s.sizes() == {"train": 126, "val": 14, "test": 38}
    # what the search logs and a resume reads back names the files
    again = parse_space(space.to_dict(), "s.yaml")
    assert again.dataset == space.dataset
    # the built-in tabular space: standardized with the train part's statistics
    tab = load_dataset(load_space("tabular_mlp", data=str(folder)).dataset)
    assert tab.sizes() == {"train": 112, "val": 28, "test": 38}
    np.testing.assert_allclose(tab.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(tab.x_train.std(axis=0), 1, atol=1e-4)


def test_folder_of_split_files_in_any_format(tmp_path):
    two = tmp_path / "two"
    two.mkdir()
    np.savez(two / "train.npz", x=X_TRAIN, y=Y_TRAIN)
    with h5py.File(two / "test.h5", "w") as f:
        f["x"], f["y"] = X_TEST, Y_TEST
    s = load_dataset(load_space("tabular_mlp", data=str(two)).dataset)
    assert s.sizes() == {"train": 112, "val": 28, "test": 38}
    three = tmp_path / "three"
    three.mkdir()
    frame = pd.DataFrame(X, columns=WINE.feature_names).assign(label=Y)
    frame[:100].to_csv(three / "train.csv", index=False)
    frame[100:140].to_parquet(three / "val.parquet")
    frame[140:].to_csv(three / "test.csv", index=False)
    own = tmp_path / "own.yaml"
    own.write_text("dataset: {name: arrays}\n")
    s = load_dataset(load_space(own, data=str(three)).dataset)
    assert s.sizes() == {"train": 100, "val": 40, "test": 38} and s.notes == ()
    np.testing.assert_allclose(s.x_val, X[100:140], rtol=1e-6)


def test_every_file_dataset_reads_every_arrays_format(tmp_path):
    frame = pd.DataFrame(X, columns=WINE.feature_names).assign(label=Y)
    np.savez(tmp_path / "wine.npz", x=X, y=Y)
    with h5py.File(tmp_path / "wine.h5", "w") as f:
        f["x"], f["y"] = X, Y
    frame.to_csv(tmp_path / "wine.csv", index=False)
    frame.to_parquet(tmp_path / "wine.parquet")
    for name in ("wine.npz", "wine.h5", "wine.csv", "wine.parquet"):
        s = load_dataset(load_space("tabular_mlp", data=str(tmp_path / name)).dataset)
        assert s.sizes() == {"train": 106, "val": 36, "test": 36} and s.input_shape == (13,), name
        np.testing.assert_allclose(s.x_train.mean(axis=0), 0, atol=1e-5, err_msg=name)  # tabular standardizes
    one_line_error(UsageError, f"{tmp_path / 'images.h5'}: tabular features must be N x features; got shape (1797, 8, 8)", _images_as, tmp_path, "tabular_mlp")
    # mnist_cnn: images in HDF5, scaled to [0, 1]
    s = _images_as(tmp_path, "mnist_cnn")
    assert s.input_shape == (8, 8) and s.x_train.max() == 1.0 and s.sizes()["test"] == 359


def _images_as(tmp_path, space_name):
    digits = load_digits()
    with h5py.File(tmp_path / "images.h5", "w") as f:
        f["x"], f["y"] = digits.images * 255 / 16, digits.target
    return load_dataset(load_space(space_name, data=str(tmp_path / "images.h5")).dataset)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["train.npz", "test.npz", "X_test.npy", "y_test.npy"], "mixes two layouts (test.npz and X_test.npy); keep one"),
        (["train.npz", "train.csv", "test.npz"], "holds the train split twice (train.csv, train.npz); keep one"),
        (["test.npz"], "has no train split (test.npz without train or train_val)"),
        (["X_test.npy", "y_test.npy"], "has no train split (X_test.npy, y_test.npy without train or train_val)"),
        (["train.npz"], "has no test split"),
        (["X_train_val.npy", "y_train_val.npy", "X_test.npy"], "X_test.npy has no y_test.npy beside it"),
        (["X_train_val.npy", "y_train_val.npy", "X_val.npy", "y_val.npy", "X_test.npy", "y_test.npy"], "holds X_val/y_val beside X_train_val/y_train_val"),
        (["X_train.npy", "y_train.npy", "X_train_val.npy", "y_train_val.npy", "X_test.npy", "y_test.npy"], "holds both train and train_val pairs"),
        (["X_train.npy", "x_train.npy", "y_train.npy", "X_test.npy", "y_test.npy"], "holds X_train.npy and x_train.npy: which is the train split's x? keep one"),
        (["train.npz", "test.npz", "extra.npz"], "extra.npz: not a split file; a folder of splits holds train, val (optional) and test files"),
        ([], "holds no data files"),
    ],
)
def test_ambiguous_folders_are_one_line(tmp_path, files, message):
    folder = tmp_path / "data"
    folder.mkdir()
    for name in files:
        if name.endswith(".npy"):
            np.save(folder / name, X_TEST if name[0] in "Xx" else Y_TEST)
        elif name.endswith(".csv"):
            pd.DataFrame(X_TEST).assign(label=Y_TEST).to_csv(folder / name, index=False)
        else:
            np.savez(folder / name, x=X_TEST, y=Y_TEST)
    (folder / "README.txt").write_text("not data")  # other files are no data and stay out of it
    one_line_error(SpaceError, "s.yaml: dataset.path: ", arrays, {"path": str(folder)})
    one_line_error(SpaceError, message, arrays, {"path": str(folder)})


def test_folder_conflicts_and_mismatched_counts(tmp_path):
    folder = tutorial_folder(tmp_path / "short", y_train=Y_TRAIN[:130])
    one_line_error(UsageError, f"{folder / 'y_train_val.npy'}: 140 samples of features but 130 labels", load_dataset, arrays({"path": str(folder)}).dataset)
    np.save(folder / "y_train_val.npy", Y_TRAIN)
    np.save(folder / "X_test.npy", X_TEST[:, :5])
    one_line_error(UsageError, f"{folder / 'y_test.npy'}: the test split's samples have shape (5,), the train split's ({folder / 'y_train_val.npy'}) (13,)", load_dataset, arrays({"path": str(folder)}).dataset)
    three = tmp_path / "three"
    three.mkdir()
    for name in ("train", "val", "test"):
        np.savez(three / f"{name}.npz", x=X, y=Y)
    one_line_error(SpaceError, f"s.yaml: dataset.val_fraction: folder {three} holds fixed splits (train, val, test): its val split fixes the validation set; drop this key", arrays, {"path": str(three), "val_fraction": 0.1})
    one_line_error(SpaceError, f"s.yaml: dataset.test_fraction: folder {three} holds fixed splits (train, val, test): its test split fixes the test set; drop this key", arrays, {"path": str(three), "test_fraction": 0.3})
    (three / "train-images-idx3-ubyte").write_bytes(b"")
    one_line_error(SpaceError, f"dataset.path: folder {three} holds both MNIST idx files (train-images-idx3-ubyte) and split files; keep one layout", parse_space, {"dataset": {"name": "mnist", "path": str(three)}}, "s.yaml")


def test_cli_refuses_an_ambiguous_folder_before_any_trial(tmp_path):
    if not can_unshare():
        pytest.fail("needs `unshare -n` (root) to keep any Ray on loopback")
    folder = tutorial_folder(tmp_path / "data")
    np.savez(folder / "train.npz", x=X_TRAIN, y=Y_TRAIN)
    result = run_cli(["search", "--space", str(REPO / "search_spaces" / "tabular_mlp.yaml"), "--data", "data", "--trials", "1"], cwd=tmp_path, isolated=True)
    assert result.returncode == 2
    assert_one_line_error(result, "dataset.path: folder data mixes two layouts (train.npz and X_test.npy); keep one")
    assert result.stdout == "" and not (tmp_path / "mlflow.db").exists()  # refused before any search or run


def test_in_memory_train_and_test_carve_validation_too():
    from hgq_automl.data import from_memory
    from hgq_automl.space import DatasetSpec

    s = from_memory({"train": (X_TRAIN, Y_TRAIN), "test": (X_TEST, Y_TEST)}, DatasetSpec(name="arrays", val_fraction=0.25, seed=4))
    assert s.sizes() == {"train": 105, "val": 35, "test": 38}
    np.testing.assert_array_equal(s.x_test, X_TEST)
    assert s.notes == ("dataset: validation carved from the train split (data['train']): 35 of 140 samples (val_fraction 0.25, seed 4, stratified)",)
