"""Every README section a DAG file points its reader at (in its UI doc or its comments) exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((ROOT / "dags").glob("*.py"))
# `README "Section title"`, `README section “Title”`, `README.md#anchor`, `include/syncs/README.md "Title"`.
REFERENCE = re.compile(
    r"(?P<path>(?:[\w.-]+/)*README(?:\.md)?)"
    r"(?:#(?P<anchor>[\w-]+)|,?\s+(?:section\s+)?[\"“'](?P<title>[^\"”'\n]+)[\"”'])"
)


def github_anchor(heading: str) -> str:
    """The fragment GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings(readme: Path) -> set[str]:
    in_code = False
    found = set()
    for line in readme.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and re.match(r"#{1,6} ", line):
            found.add(line.lstrip("#").strip())
    return found


def readme_path(reference: str) -> Path:
    return ROOT / (reference if reference.endswith(".md") else f"{reference}.md")


def broken_references(text: str) -> list[str]:
    """Each README reference in ``text`` whose file or section does not exist, as a message."""
    broken = []
    for match in REFERENCE.finditer(text):
        path = readme_path(match["path"])
        if not path.is_file():
            broken.append(f"{match['path']} does not exist")
            continue
        sections = headings(path)
        if match["anchor"] is not None and match["anchor"] not in {github_anchor(h) for h in sections}:
            broken.append(f"{match['path']}#{match['anchor']} is no heading")
        if match["title"] is not None and match["title"] not in sections:
            broken.append(f"{match['path']} has no section {match['title']!r}")
    return broken


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_every_readme_mention_names_a_section_in_a_form_the_check_reads(dag_file: Path):
    text = dag_file.read_text(encoding="utf-8")
    assert text.count("README") == len(REFERENCE.findall(text)), (
        'a README is mentioned without naming a section as README "Title" or README.md#anchor')


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_every_readme_section_a_dag_file_points_at_exists(dag_file: Path):
    assert broken_references(dag_file.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("text", "broken"),
    [
        pytest.param('See README "Transform: execution mode".', ["README has no section 'Transform: execution mode'"],
                     id="a title that is no heading is reported"),
        pytest.param('See README "Operating Narrowcast (Airflow UI tour)".', [], id="an existing title resolves"),
        pytest.param("See README.md#operating-narrowcast-airflow-ui-tour.", [], id="an existing anchor resolves"),
        pytest.param("See README.md#transform-execution-mode.", ["README.md#transform-execution-mode is no heading"],
                     id="an anchor that is no heading is reported"),
        pytest.param('See include/syncs/README.md "No such part".', ["include/syncs/README.md has no section 'No such part'"],
                     id="a nested README is read too"),
        pytest.param('See docs/README "Setup".', ["docs/README does not exist"], id="a missing README is reported"),
    ],
)
def test_the_check_reports_exactly_the_references_that_do_not_resolve(text: str, broken: list[str]):
    assert broken_references(text) == broken
