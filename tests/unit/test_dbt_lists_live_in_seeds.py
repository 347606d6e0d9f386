"""Marketplaces, channels and ad platforms are declared once, in the dbt seeds; SQL and tests never list them.

A literal such as ``order_source in ('ebay', 'amazon')`` would silently ignore the next marketplace. This test
reads the model, macro and test sources of the dbt project (no dbt run) and fails on any string literal that is
a known marketplace, channel, ad platform or vendor name, and on ``accepted_values`` tests that list them.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
SEEDS = PROJECT / "seeds"

# Vendor names that are no seed key (or not yet one) but would be a hand-written list all the same.
VENDOR_NAMES = {"shopify", "etsy", "google", "facebook", "instagram", "klaviyo", "meta", "ebay", "amazon", "shop"}

# (file relative to dbt_project, literal): why the literal is a value an external API defines, not a list.
ALLOWED = {
    ("models/intermediate/web/int_sessions.sql", "google"):
        "GA4 reports a visit with a gclid and no utm tags as source google / medium cpc (Google Ads auto-tagging)",
}

JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
JINJA_STATEMENT = re.compile(r"\{%.*?%\}", re.DOTALL)
JINJA_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
JINJA_LIST = re.compile(r"\[[^\]]*\]")
SQL_LINE_COMMENT = re.compile(r"--[^\n]*")
SQL_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
# ref('model') and source('source', 'table') name dbt nodes; a source may well be called after its vendor.
NODE_REFERENCE = re.compile(r"\b(?:ref|source)\(\s*(?:'[^']*'|\"[^\"]*\")(?:\s*,\s*(?:'[^']*'|\"[^\"]*\"))*\s*\)")
SQL_STRING = re.compile(r"'((?:[^']|'')*)'")
JINJA_STRING = re.compile(r"'([^']*)'|\"([^\"]*)\"")


def _seed_column(seed: str, column: str) -> set[str]:
    with (SEEDS / f"{seed}.csv").open(newline="") as handle:
        return {row[column].lower() for row in csv.DictReader(handle) if row[column]}


def known_names() -> set[str]:
    """Every marketplace, channel and ad platform the seeds declare, the own-site platform and vendor names."""
    variables = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())["vars"]
    return (
        _seed_column("marketplaces", "marketplace")
        | _seed_column("channels", "channel")
        | _seed_column("ad_platforms", "platform")
        | {str(variables["own_site_platform"]).lower()}
        | VENDOR_NAMES
    )


def _normalised(literal: str) -> str:
    """A LIKE pattern ('google%') or a key prefix ('ebay:') names its marketplace as much as the bare name."""
    return literal.strip().lower().strip("%").rstrip(":#").strip()


def _jinja_strings(code: str) -> list[str]:
    return [
        match.group(1) if match.group(1) is not None else match.group(2) for match in JINJA_STRING.finditer(code)
    ]


def _expression_literals(expression: str) -> list[str]:
    """In {{ ... }} a string passed to a macro is SQL (usually a column name such as 'email'): only the SQL
    literals inside it count, and the items of a Jinja list."""
    found = [literal for string in _jinja_strings(expression) for literal in SQL_STRING.findall(string)]
    return found + [item for items in JINJA_LIST.findall(expression) for item in _jinja_strings(items)]


def named_literals(sql: str, names: set[str]) -> list[str]:
    """The literals of a dbt SQL file that are a known name: SQL string literals, every string of a Jinja
    statement ({% set %}, {% if %}, {% for %}) and the literals rendered by Jinja expressions; comments and
    ref()/source() names excluded."""
    code = JINJA_COMMENT.sub(" ", sql)
    code = SQL_BLOCK_COMMENT.sub(" ", code)
    code = SQL_LINE_COMMENT.sub(" ", code)
    code = NODE_REFERENCE.sub(" ", code)
    literals: list[tuple[int, str]] = []
    for match in JINJA_STATEMENT.finditer(code):
        literals += [(match.start(), literal) for literal in _jinja_strings(match.group())]
    code = JINJA_STATEMENT.sub(lambda match: " " * len(match.group()), code)
    for match in JINJA_EXPRESSION.finditer(code):
        literals += [(match.start(), literal) for literal in _expression_literals(match.group())]
    code = JINJA_EXPRESSION.sub(lambda match: "x" * len(match.group()), code)
    literals += [(match.start(), match.group(1)) for match in SQL_STRING.finditer(code)]
    return [literal for _, literal in sorted(literals) if _normalised(literal) in names]


def _sql_files() -> list[Path]:
    return sorted(
        path for folder in ("models", "macros", "tests") for path in (PROJECT / folder).rglob("*.sql")
    )


def _accepted_values(node: object) -> Iterator[list[object]]:
    """Every value list of an accepted_values test anywhere in a parsed yml file."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "accepted_values" and isinstance(value, dict):
                arguments = value.get("arguments", value)
                yield list(arguments.get("values", []))
            else:
                yield from _accepted_values(value)
    elif isinstance(node, list):
        for item in node:
            yield from _accepted_values(item)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param("where order_source in ('ebay', 'amazon')", ["ebay", "amazon"], id="an-in-list-of-marketplaces"),
        pytest.param("'shop:' || order_id as order_key", ["shop:"], id="a-marketplace-key-prefix"),
        pytest.param("coalesce(channel, 'direct')", ["direct"], id="a-fallback-channel"),
        pytest.param("traffic_source like 'facebook%'", ["facebook%"], id="a-like-pattern-on-a-vendor"),
        pytest.param("{% set markets = [\"etsy\"] %}", ["etsy"], id="a-list-in-a-jinja-statement"),
        pytest.param("{{ in_list('source', ['ebay']) }}", ["ebay"], id="a-list-passed-to-a-macro"),
        pytest.param("{{ where_clause(\"order_source = 'amazon'\") }}", ["amazon"], id="sql-passed-to-a-macro"),
        pytest.param("{{ normalize_email('email') }}", [], id="a-column-passed-to-a-macro"),
        pytest.param("'{{ var(\"own_site_platform\") }}'", [], id="a-var-rendered-into-a-literal"),
        pytest.param("select * from {{ source('shop', 'shop_orders') }}", [], id="a-dbt-source-name"),
        pytest.param("{#- orders of 'ebay' -#} -- 'amazon'\nselect 1", [], id="names-in-comments"),
        pytest.param("'stg_ebay__orders' as orders_model, 'marketplace_only' as segment", [], id="longer-names"),
    ],
)
def test_the_scanner_finds_names_written_as_literals(sql: str, expected: list[str]) -> None:
    # GIVEN the names the seeds declare
    names = known_names()
    # WHEN a snippet of dbt SQL is scanned
    found = named_literals(sql, names)
    # THEN exactly the literals that name a marketplace, channel or platform are reported
    assert found == expected


def test_the_seeds_declare_the_names_the_scanner_looks_for() -> None:
    names = known_names()
    assert {"shop", "file", "ebay", "amazon", "direct", "marketplace", "affiliate", "meta", "google_ads"} <= names


def test_no_model_macro_or_test_writes_a_marketplace_or_channel_as_a_literal() -> None:
    # GIVEN every SQL file of the dbt project and the names the seeds declare
    names = known_names()
    # WHEN each file is scanned for string literals that are such a name
    found = {
        (str(path.relative_to(PROJECT)), literal)
        for path in _sql_files()
        for literal in named_literals(path.read_text(), names)
    }
    # THEN only the allow-listed API values remain, and every allow-listed value is still needed
    assert sorted(found - set(ALLOWED)) == [], "join a seed (dbt_project/seeds) instead of listing names in SQL"
    assert sorted(set(ALLOWED) - found) == [], "an allow-listed literal is gone: remove it from ALLOWED"


def test_no_accepted_values_test_lists_marketplaces_or_channels() -> None:
    # GIVEN every yml file of the models and seeds
    names = known_names()
    offending = []
    for path in sorted([*(PROJECT / "models").rglob("*.yml"), *SEEDS.rglob("*.yml")]):
        # WHEN its accepted_values tests are read
        for values in _accepted_values(yaml.safe_load(path.read_text())):
            listed = [value for value in values if _normalised(str(value)) in names]
            if listed:
                offending.append((str(path.relative_to(PROJECT)), listed))
    # THEN none lists a marketplace, channel or platform: those are relationships tests to the seed
    assert offending == [], "use a relationships test to the seed instead of accepted_values"
