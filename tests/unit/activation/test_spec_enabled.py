"""A sync can be paused in its YAML: validated, listed, never run by a group run or the DAGs."""

from __future__ import annotations

import pytest
import yaml

from narrowcast.activation import load_syncs
from narrowcast.activation.spec import SYNCS_DIR, SyncConfigError


def _copy_syncs(tmp_path, enabled):
    for path in SYNCS_DIR.glob("*.yml"):
        raw = yaml.safe_load(path.read_text())
        if path.stem == "stock_ebay":
            raw["enabled"] = enabled
        (tmp_path / path.name).write_text(yaml.safe_dump(raw))
    return tmp_path


def test_a_sync_with_enabled_false_is_loaded_but_marked_paused(tmp_path):
    specs = {s.id: s for s in load_syncs(_copy_syncs(tmp_path, False))}
    assert specs["stock_ebay"].enabled is False
    assert specs["stock_amazon"].enabled is True


def test_enabled_must_be_a_boolean_and_the_error_names_file_and_key(tmp_path):
    with pytest.raises(SyncConfigError, match=r"stock_ebay\.yml: key 'enabled'"):
        load_syncs(_copy_syncs(tmp_path, "sometimes"))
