"""Lead events pick prospecting sessions by a marker in the session text, as Arrow's substring match would."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from narrowcast.datagen.lead_events import PROSPECTING_RATE, LeadEvents, _contains

TEXTS = ['"name":"Prospecting | Broad"', '"name":"Retargeting"', None, "", "Prospect", "ing", "xProspectingProspecting",
         '"name":"Lookalike 1%"', "Prospecting"]


@pytest.mark.parametrize("marker", ["Prospecting", "Lookalike", "ing", "P"])
@pytest.mark.parametrize("view", ["whole", "slice", "take", "chunked"])
def test_the_marker_search_agrees_with_arrows_substring_match(marker: str, view: str) -> None:
    arr = pa.array(TEXTS)
    # GIVEN the texts as a whole array, a slice, a take (values out of buffer order) and two chunks; a value
    # ending "Prospect" followed by one starting "ing" must not count as a match across the boundary
    part = {"whole": arr, "slice": arr.slice(3, 5), "take": arr.take([8, 4, 5, 2, 0]),
            "chunked": pa.chunked_array([arr.slice(0, 5), arr.slice(5)])}[view]
    expected = pc.fill_null(pc.match_substring(part, marker), False).to_numpy(zero_copy_only=False)
    assert _contains(part, marker).tolist() == expected.tolist()


def test_sessions_a_prospecting_campaign_brought_sign_up_at_the_higher_rate() -> None:
    # GIVEN 4,000 session starts, half of them from a prospecting campaign
    n = 4000
    start_us = 1_785_715_200_000_000 + np.arange(n, dtype=np.int64) * 1_000_000
    table = pa.table({"event_name": pa.array(["session_start"] * n),
                      "event_timestamp": pa.array(start_us),
                      "session": pa.array(['"name":"Prospecting | EU"' if i % 2 else '"name":"(direct)"'
                                           for i in range(n)])})
    out = LeadEvents(seed=7)(date(2026, 8, 3), table)
    leads = out.slice(n)
    # THEN lead rows follow, and come from prospecting sessions about 3.5 times as often as from the others
    from_prospecting = sum("Prospecting" in s for s in leads.column("session").to_pylist())
    assert leads.num_rows > 0
    assert from_prospecting / (n / 2) == pytest.approx(2 * PROSPECTING_RATE, abs=0.03)
    assert from_prospecting > 2.5 * (leads.num_rows - from_prospecting)
