"""Every copy of the raw schema outside the sources' declarations is generated from them and up to date."""

from __future__ import annotations

import re
from dataclasses import replace

import duckdb
from jinja2 import Environment

from narrowcast.contracts.tables import EntitySpec
from narrowcast.sources import raw_schema
from narrowcast.sources.registry import ENTITIES, SOURCES


def _render_macro(text: str) -> list[str]:
    """The statements the dbt macro returns, rendered the way dbt would (``execute`` true)."""
    env = Environment(extensions=["jinja2.ext.do"])

    class Returned(Exception):
        pass

    def give_back(value: str) -> str:
        raise Returned(value)

    module = env.from_string(text).make_module({"execute": True, "return": give_back})
    try:
        module.ensure_optional_raw_tables()
    except Returned as done:
        return str(done.args[0]).split(";\n")
    raise AssertionError("the macro returned nothing")


def test_the_committed_dbt_macro_and_data_contract_equal_what_the_declarations_generate() -> None:
    assert raw_schema.stale_files() == []


def test_the_dbt_macro_creates_every_declared_raw_table_with_its_declared_types_in_duckdb() -> None:
    con = duckdb.connect()
    for statement in _render_macro(raw_schema.DBT_MACRO.read_text()):
        con.execute(statement)
    for name, spec in ENTITIES.items():
        described = dict(con.execute(f"select column_name, data_type from information_schema.columns "
                                     f"where table_schema = 'raw' and table_name = '{name}' order by ordinal_position"
                                     ).fetchall())
        assert described == {**spec.columns, "_batch_id": "VARCHAR", "_loaded_at": "TIMESTAMP", "_source": "VARCHAR"}


def test_the_dbt_macro_adds_a_declared_column_a_table_created_by_an_older_version_lacks() -> None:
    # GIVEN a warehouse whose budget plan table predates its optional currency column, holding one row
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute("create table raw.file_budget_plan (month varchar, channel varchar, planned_spend decimal(18,2))")
    con.execute("insert into raw.file_budget_plan values ('2026-11', 'email', 100)")
    # WHEN the macro's statements run (dbt's on-run-start)
    for statement in _render_macro(raw_schema.DBT_MACRO.read_text()):
        con.execute(statement)
    # THEN the table has every declared column, the old row kept with NULL in the new ones
    columns = [c for (c,) in con.execute("select column_name from information_schema.columns where table_schema = "
                                         "'raw' and table_name = 'file_budget_plan'").fetchall()]
    assert set(ENTITIES["file_budget_plan"].columns) <= set(columns)
    assert con.execute("select month, planned_spend, currency from raw.file_budget_plan").fetchall() == [
        ("2026-11", 100, None)]


def test_a_new_declared_table_reaches_the_macro_and_the_contract() -> None:
    extra = EntitySpec("shop_gift_cards", {"id": "BIGINT", "balance": "DECIMAL(18,2)", "rate": "DOUBLE"}, key=("id",))
    shopify = SOURCES["shopify"]
    grown = replace(shopify, entities=(*shopify.entities, extra))
    macro = raw_schema.dbt_macro([extra])
    assert ("'shop_gift_cards': ['\"id\" bigint', '\"balance\" decimal(18,2)', '\"rate\" double precision']"
            in macro)
    table = raw_schema.contract_table([grown])
    assert re.search(r"^\| `raw.shop_gift_cards` \| shopify \| id \| merge \| id BIGINT, balance DECIMAL\(18,2\), rate DOUBLE \|$",
                     table, re.M)


def test_the_contract_keeps_its_hand_written_text_around_the_generated_table() -> None:
    document = "intro\n" + raw_schema.CONTRACT_START + "\nstale hand edit\n" + raw_schema.CONTRACT_END + "\noutro\n"
    rendered = raw_schema.contract_document(document, [SOURCES["ga4"]])
    assert rendered.startswith("intro\n" + raw_schema.CONTRACT_START + "\n| table |")
    assert "stale hand edit" not in rendered and rendered.endswith(raw_schema.CONTRACT_END + "\noutro\n")
    assert "| `raw.ga4_events` | ga4 | event_key | replace per `event_date` | event_key VARCHAR (stable hash" in rendered
