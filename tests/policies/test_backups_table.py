"""The tier table's backups: schedules that match their intervals, retention and alert age."""

from __future__ import annotations

import pytest
import yaml

from .conftest import POLICY_DIR

TIERS = yaml.safe_load((POLICY_DIR / "data" / "tiers.yaml").read_text())["tiers"]
STORE_GI = 10  # the store size the snapshot volumes are sized for (see the table's comment)


def interval_minutes(schedule: str) -> int:
    """Minutes between runs of a schedule of the forms `M * * * *`, `M */N * * *`, `M H * * *`."""
    minute, hour, *rest = schedule.split()
    if not minute.isdigit() or rest != ["*", "*", "*"]:
        raise ValueError(f"unsupported schedule {schedule!r}")
    if hour == "*":
        return 60
    if hour.startswith("*/") and 24 % int(hour[2:]) == 0:
        return 60 * int(hour[2:])
    if hour.isdigit():
        return 24 * 60
    raise ValueError(f"unsupported schedule {schedule!r}")


def test_interval_parser() -> None:
    assert [interval_minutes(s) for s in ("5 * * * *", "5 */6 * * *", "5 3 * * *")] == [
        60,
        360,
        1440,
    ]
    for bad in ("* * * * *", "5 */5 * * *", "5 3 * * 1"):
        with pytest.raises(ValueError):
            interval_minutes(bad)


@pytest.mark.parametrize("tier", list(TIERS))
def test_schedule_matches_its_interval(tier: str) -> None:
    backups = TIERS[tier]["backups"]
    assert interval_minutes(backups["schedule"]) == backups["interval_minutes"]


@pytest.mark.parametrize("tier", list(TIERS))
def test_retention_and_alert_age_fit_the_interval(tier: str) -> None:
    backups = TIERS[tier]["backups"]
    # At least two days of history, and the alert waits for more than one interval.
    assert backups["keep"] * backups["interval_minutes"] >= 2 * 24 * 60
    assert (
        backups["interval_minutes"]
        < backups["max_age_minutes"]
        <= 2 * backups["interval_minutes"] + 3 * 60
    )
    assert backups["volume_gi"] >= (backups["keep"] + 1) * STORE_GI


def test_busier_tiers_snapshot_at_least_as_often() -> None:
    intervals = [t["backups"]["interval_minutes"] for t in TIERS.values()]
    assert intervals == sorted(intervals, reverse=True)
    assert intervals[-1] == 60  # high: hourly
    assert intervals[0] == 24 * 60  # low: daily
