"""int_campaign_types, int_leads and kpi_campaign_type_daily agree with an independent pandas recomputation from
the raw campaign settings, GA4 events, shop customers and the seed campaign_type_rules; a broken rule shows."""

from __future__ import annotations

from collections.abc import Callable

import dbt_leads_reference as leads
import pandas as pd
import pytest

pytestmark = pytest.mark.e2e  # reads the session's `dbt build` of the fixture warehouse

ReadTable = Callable[[str], pd.DataFrame]
KEY = ["date_day", "platform", "campaign_type"]


def _values(series: pd.Series) -> list[float | None]:
    """Floats rounded for comparison, None for null, so a null and a 0 never compare equal."""
    return [None if pd.isna(v) else round(float(v), 6) for v in series]


def _joined(read_table: ReadTable, rules: pd.DataFrame | None = None) -> pd.DataFrame:
    expected = leads.kpi_campaign_type_daily(read_table, rules)
    mart = read_table("kpi_campaign_type_daily")
    mart["date_day"] = pd.to_datetime(mart["date_day"]).dt.date
    joined = expected.merge(mart, on=KEY, how="outer", suffixes=("_pandas", "_mart"), indicator=True)
    return joined.sort_values(KEY).reset_index(drop=True)


def _mismatches(joined: pd.DataFrame) -> list[str]:
    found = [f"row {row}" for row in joined.loc[joined["_merge"] != "both", KEY].to_dict("records")]
    for column in leads.VOLUMES + leads.RATIOS:
        if _values(joined[f"{column}_pandas"]) != _values(joined[f"{column}_mart"]):
            found.append(column)
    return found


def test_every_campaign_gets_the_type_of_its_first_matching_rule(read_table: ReadTable) -> None:
    expected = leads.campaign_types(read_table).set_index(["platform", "campaign_id"])["campaign_type"]
    model = read_table("int_campaign_types").set_index(["platform", "campaign_id"])
    assert model["campaign_type"].sort_index().to_dict() == expected.sort_index().to_dict()
    # The fixture exercises a settings rule of each platform and the name convention.
    assert set(expected) >= {"remarketing", "prospecting", "brand"}
    assert model["is_classified_by_name"].any() and not model["is_classified_by_name"].all()


def test_leads_per_day_type_and_platform_match_pandas(read_table: ReadTable) -> None:
    types = leads.campaign_types(read_table)
    expected = leads.leads(read_table, types)
    model = read_table("int_leads")
    as_rows = sorted(zip(expected["lead_type"], expected["lead_date"].astype(str), expected["platform"],
                         expected["campaign_id"].fillna(""), strict=True))
    model_rows = sorted(zip(model["lead_type"], pd.to_datetime(model["lead_date"]).dt.date.astype(str),
                            model["platform"], model["campaign_id"].fillna(""), strict=True))
    assert model_rows == as_rows
    assert {"sign_up", "generate_lead", "newsletter_signup"} <= set(model["lead_type"])


def test_a_klaviyo_sign_up_counts_once_against_the_shop_consent_of_the_same_person(read_table: ReadTable) -> None:
    model = read_table("int_leads").set_index("lead_key")["lead_source"]
    # customer 1's consent synced to Klaviyo after the shop's: the shop's counts; customer 6 used a Klaviyo form
    # first: Klaviyo's counts; the visitor's two events (a list and e-mail marketing) are one lead
    assert {key: model.get(key) for key in ("newsletter:1", "klaviyo_signup:kev2", "klaviyo_signup:kev3")} == {
        "newsletter:1": "shop_consent", "klaviyo_signup:kev2": "klaviyo_signup", "klaviyo_signup:kev3": "klaviyo_signup"}
    assert not {"klaviyo_signup:kev1", "newsletter:6", "klaviyo_signup:kev4"} & set(model.index)


def test_kpi_campaign_type_daily_matches_pandas_row_by_row(read_table: ReadTable) -> None:
    joined = _joined(read_table)
    assert _mismatches(joined) == []
    # The fixture holds the edge cases: a paid day without leads (cpl null) and a remarketing day with a
    # returning-customer order (cost per upsell set).
    assert joined["cpl_mart"].isna().any() and joined["cpl_mart"].notna().any()
    assert joined["cost_per_upsell_mart"].notna().any()


def test_a_broken_classification_rule_breaks_the_comparison(read_table: ReadTable) -> None:
    # GIVEN the seed's rules with the custom-audience rule turned into prospecting
    rules = leads.seed("campaign_type_rules")
    broken = rules.assign(campaign_type=rules["campaign_type"].where(
        rules["field"] != "targets_custom_audience", "prospecting"))
    # WHEN the reference follows the broken rule THEN the mart, built from the real seed, no longer matches
    assert _mismatches(_joined(read_table, broken)) != []
