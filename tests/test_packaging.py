"""pyproject.toml lists the package's sub-packages one by one (the search spaces ship from a
top-level folder, `package-dir`): every folder of modules must be in that list, or a wheel
(`pip install .`, not `-e`) lacks it and imports fail only there."""

import tomllib
from pathlib import Path

import hgq_automl

PACKAGE = Path(hgq_automl.__file__).parent


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {
        ".".join(("hgq_automl", *init.parent.relative_to(PACKAGE).parts)).rstrip(".")
        for init in PACKAGE.rglob("__init__.py")
    }
    assert folders - listed == set()
