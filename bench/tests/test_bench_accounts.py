"""bench/accounts.py's pure parts: how N is split across the accounts, and the table."""

from __future__ import annotations

import pytest

from bench import accounts, scenario
from bench.world import BenchError


def test_n_is_split_as_evenly_as_it_goes_one_account_and_namespace_each() -> None:
    cfg = scenario.RunConfig(components=1001, mode="sweep", run="s1001")
    split = accounts.teams(cfg, 2)
    assert [t.components for t in split] == [501, 500]
    assert [t.account for t in split] == ["111111111111", "222222222222"]
    assert len({t.namespace for t in split}) == 2
    assert split[1].role == "arn:aws:iam::222222222222:role/ic-operator-s1001a1"
    with pytest.raises(BenchError):
        accounts.teams(cfg, 10)


def test_the_table_has_a_row_per_account_with_its_edit_p99() -> None:
    result = {
        "teams": [{"account": "111111111111", "components": 2}],
        "edits": {
            "111111111111": {
                "throttled": True,
                "edits": 3,
                "from_patch_returned": {"count": 3, "p50": 0.5, "p99": 2.25},
                "throttled_calls": 7,
            }
        },
        "steady": {
            "111111111111": {
                "per_component_hour_total": 36.0,
                "per_component_hour_total_at_300s": 1.2,
            }
        },
    }
    row = accounts.table(result).splitlines()[-1]
    assert row == "| 111111111111 | 2 | yes | 3/3 | 0.500 s | 2.250 s | 7 | 36.0 | 1.2 |"
