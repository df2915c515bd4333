"""The sha256 of a search's input files (`fingerprints`): which files, and a change seen."""

from dataclasses import replace

import numpy as np

from hgq_automl.fingerprints import changed_file, file_fingerprints
from hgq_automl.space import parse_space

from .conftest import write


def test_data_builder_and_model_files_are_fingerprinted_and_a_change_is_named(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 3)), y=np.arange(4) % 2)
    space = parse_space({"dataset": {"name": "arrays", "path": str(tmp_path / "d.npz")}, "model": {"family": "mlp"}}, "s.yaml")
    model_file = write(tmp_path / "m.keras", "not really a model")
    builder = write(tmp_path / "b.py", "def build(p, s, n): pass\n")
    stored = {
        **file_fingerprints(space),
        **file_fingerprints(replace(space, model=replace(space.model, family="file", path=str(model_file)))),
        **file_fingerprints(replace(space, model=replace(space.model, family="builder", builder="b:build", builder_file=str(builder)))),
    }
    assert set(stored) == {str((tmp_path / n).resolve()) for n in ("d.npz", "m.keras", "b.py")}
    assert changed_file(stored) is None
    for path in (model_file, builder):
        before = path.read_text()
        path.write_text(before + "# edited\n")
        assert changed_file(stored).startswith(f"{path.resolve()}: changed since the search started (sha256 ")
        path.write_text(before)
    (tmp_path / "d.npz").unlink()
    assert changed_file(stored) == f"{(tmp_path / 'd.npz').resolve()}: gone since the search started"


def test_a_folder_of_splits_fingerprints_its_split_files(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for split in ("train", "test"):
        np.savez(data / f"{split}.npz", x=np.zeros((10, 3)), y=np.arange(10) % 2)
    write(data / "README.txt", "notes")
    space = parse_space({"dataset": {"name": "arrays", "path": str(data)}, "model": {"family": "mlp"}}, "s.yaml")
    assert set(file_fingerprints(space)) == {str((data / f"{s}.npz").resolve()) for s in ("train", "test")}
