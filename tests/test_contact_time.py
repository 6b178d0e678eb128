"""Local time in the shop's zone and the best time to contact a customer."""

from datetime import datetime, timezone

import numpy as np
import pytest

from training import analytics_time as at


def utc(*args) -> int:
    return int(datetime(*args, tzinfo=timezone.utc).timestamp())


def test_hours_follow_daylight_saving_time():
    berlin = at.zone("Europe/Berlin")
    times = np.array([utc(2024, 3, 30, 18), utc(2024, 4, 1, 18), utc(2024, 10, 28, 18)])  # CET, CEST, CET
    local = at.local_seconds(times, berlin)
    assert at.hour_of_day(local).tolist() == [19, 20, 19]
    assert at.weekday(local).tolist() == [5, 0, 0]  # Saturday, Monday, Monday


def test_half_hour_zones_and_month_boundaries():
    kolkata, new_york = at.zone("Asia/Kolkata"), at.zone("America/New_York")
    assert at.hour_of_day(at.local_seconds(np.array([utc(2024, 1, 1, 12, 40)]), kolkata)).tolist() == [18]
    months = at.month_index(at.local_seconds(np.array([utc(2024, 3, 1, 3)]), new_york))
    assert at.month_name(int(months[0])) == "2024-02"
    assert at.month_start(int(months[0]) + 1, new_york) == utc(2024, 3, 1, 5)  # midnight EST


def test_the_look_up_table_and_the_sorted_path_agree(monkeypatch):
    times = np.array([utc(1990, 6, 1, 23), utc(2024, 7, 1, 1), utc(2024, 7, 1, 1, 30)])
    berlin = at.zone("Europe/Berlin")
    by_table = at.local_seconds(times, berlin)
    monkeypatch.setattr(at, "MAX_TABLE", 1)
    assert at.local_seconds(times, berlin).tolist() == by_table.tolist()
    assert at.hour_of_day(by_table).tolist() == [1, 3, 3]


def test_best_time_is_the_users_usual_hour_and_weekday_else_the_shops_peak():
    # user 0 shops on Tuesdays at 19 (five events, one on Friday at 8); user 1 has two events only
    tuesday_19 = [utc(2024, 1, d, 19, m) for d, m in ((2, 0), (9, 5), (16, 10), (23, 15))]
    events = [(0, t) for t in tuesday_19] + [(0, utc(2024, 1, 5, 8)), (1, utc(2024, 1, 6, 3)), (1, utc(2024, 1, 7, 3))]
    events += [(2, utc(2024, 1, 3, 12))] * 6  # user 2: six events on Wednesday at 12
    user = np.array([u for u, _ in events])
    ts = np.array([t for _, t in events])
    times = at.contact_times(user, ts, 4, at.zone("UTC"), min_events=5)
    assert (times.hour[0], times.weekday[0], times.own[0]) == (19, 1, True)
    assert (times.hour[2], times.weekday[2], times.own[2]) == (12, 2, True)
    assert (times.shop_hour, times.shop_weekday) == (12, 2)  # six events beat four
    for u in (1, 3):  # too few events, none at all: the shop's peak
        assert (times.hour[u], times.weekday[u], times.own[u]) == (12, 2, False)


def test_an_unknown_zone_is_named_in_the_error():
    with pytest.raises(ValueError, match="Mars/Olympus"):
        at.zone("Mars/Olympus")
