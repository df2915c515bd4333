"""The documentation holds together: the reference pages are what the code gives, every
relative link and anchor resolves, and the help names every built-in space."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _generator():
    spec = importlib.util.spec_from_file_location("gen_reference", REPO / "scripts" / "gen_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", ["cli.md", "metrics.md"])
def test_reference_pages_are_what_the_code_gives(page):
    gen = _generator()
    committed = (REPO / "docs" / "reference" / page).read_text()
    assert committed == gen.PAGES[page](), f"docs/reference/{page} is out of date: run python scripts/gen_reference.py"


def test_metric_reference_lists_every_metric_with_its_design():
    from hgq_automl.metrics import FINAL_METRICS

    text = (REPO / "docs" / "reference" / "metrics.md").read_text()
    rows = {line.split("|")[1].strip(" `"): line.split("|")[4].strip() for line in text.splitlines() if line.startswith("| `")}
    assert set(FINAL_METRICS) <= set(rows)
    for name, metric in FINAL_METRICS.items():
        assert rows[name] == (metric.design_label or "—"), name


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    anchors, fence = set(), False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and line.startswith("#"):
            anchors.add(_slug(line.lstrip("#")))
    return anchors


def _links(path: Path):
    fence = False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("```"):
            fence = not fence
            continue
        if not fence:
            for target in LINK.findall(line):
                yield number, target


def test_every_relative_link_and_anchor_resolves():
    broken = []
    for page in PAGES:
        for number, target in _links(page):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            file, _, anchor = target.partition("#")
            dest = (page.parent / file).resolve() if file else page
            where = f"{page.relative_to(REPO)}:{number}: {target}"
            if not dest.exists():
                broken.append(f"{where} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                broken.append(f"{where} (no such heading)")
    assert not broken, "\n".join(broken)


def test_every_docs_page_is_reachable_from_the_readme():
    seen, todo = set(), [REPO / "README.md"]
    while todo:
        page = todo.pop()
        if page in seen or page.suffix != ".md" or not page.exists():
            continue
        seen.add(page)
        todo += [(page.parent / t.partition("#")[0]).resolve() for _, t in _links(page) if not re.match(r"[a-z]+:", t) and t.partition("#")[0]]
    unreachable = [str(p.relative_to(REPO)) for p in PAGES if p not in seen]
    assert not unreachable, unreachable


def test_space_help_names_every_builtin_space():
    from hgq_automl.options import SEARCH_OPTIONS
    from hgq_automl.space.parse import builtin_spaces

    help_text = next(o for o in SEARCH_OPTIONS if o.field == "space").help
    assert [s for s in builtin_spaces() if s not in help_text] == []


def test_the_docs_site_builds_with_warnings_as_errors(tmp_path):
    """mkdocs.yml's site: every page in the nav, every link found (`--strict`)."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(REPO / "mkdocs.yml"), "-d", str(tmp_path / "site")],
        capture_output=True, text=True, timeout=300, env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert (tmp_path / "site" / "reference" / "cli" / "index.html").is_file()
    assert (tmp_path / "site" / "assets" / "benchmarks" / "search.png").is_file()  # the plots beside docs/ reach the site
