"""MkDocs hooks (mkdocs.yml `hooks:`): the docs link files that live beside docs/ in the
repository (the benchmark plots in benchmarks/, the example notebook in examples/), which
is right on GitHub and in a checkout. For the site those files are copied under assets/
and the links pointing at them rewritten, so that `mkdocs build --strict` finds every one."""

from __future__ import annotations

import re
from pathlib import Path

#: repository folders whose files the docs link to, and where the site keeps them
OUTSIDE = {"benchmarks": "assets/benchmarks", "examples": "assets/examples"}


def _root(config) -> Path:
    return Path(config.config_file_path).resolve().parent


def on_files(files, config):
    from mkdocs.structure.files import File

    root = _root(config)
    for folder, dest in OUTSIDE.items():
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and path.suffix in (".png", ".ipynb"):
                files.append(File.generated(config, f"{dest}/{path.relative_to(root / folder).as_posix()}", abs_src_path=str(path)))
    return files


def on_page_markdown(markdown, page, config, files):
    depth = page.file.src_uri.count("/")  # a page in docs/reference/ is one folder down
    up = "../" * (depth + 1)
    for folder, dest in OUTSIDE.items():
        markdown = re.sub(rf"\]\({re.escape(up)}{folder}/", f"]({'../' * depth}{dest}/", markdown)
    return markdown
