"""Timestamps outside a sane window are bad rows, and one stray event does not set the model's clock.

Regression: a single year-3000 row became the model's "now", and every real event looked centuries old.
"""

import time

import numpy as np

from tests.shop import write_shop
from training.config import TrainConfig
from training.inputs.presets import get_preset
from training.inputs.readers import EARLIEST_TIME, read_events
from training.interactions import CLOCK_GAP_S, clock
from training.train import Inputs, train

CONTRACT = get_preset(None)
HOUR = 3600


def test_timestamps_outside_the_window_are_bad_rows_with_their_line(tmp_path):
    soon = int(time.time()) + HOUR  # within the day of tolerance
    rows = [
        "1700000000,u1,i1,view",  # line 2: fine
        "3000-01-01T00:00:00Z,u1,i2,view",  # line 3: ISO, year 3000
        "32503680000,u1,i2,view",  # line 4: seconds, year 3000
        "32503680000000,u1,i2,view",  # line 5: milliseconds, year 3000
        "1" + "0" * 30 + ",u1,i2,view",  # line 6: 1e30
        "1" + "0" * 400 + ",u1,i2,view",  # line 7: past float range
        "0,u1,i2,view",  # line 8: the epoch
        "600000000,u1,i2,view",  # line 9: 1989 in seconds
        "1989-12-31T23:59:59Z,u1,i2,view",  # line 10: 1989 in ISO
        f"{soon},u2,i1,purchase",  # line 11: fine
        f"{soon * 1000},u2,i3,view",  # line 12: fine, milliseconds
        f"{(soon + 2 * 86_400) * 1000},u2,i3,view",  # line 13: two days ahead, milliseconds
        "9999-12-31T23:59:59+00:00,u1,i2,view",  # line 14: the last ISO day
    ]
    path = tmp_path / "e.csv"
    path.write_text("timestamp,user_id,item_id,event\n" + "\n".join(rows) + "\n")
    events, bad = read_events(path, CONTRACT)
    assert events.timestamp.tolist() == [1700000000, soon, soon]
    assert bad.count == 10 and bad.kept == 3
    assert [e.split(":")[0] for e in bad.examples] == [f"e.csv line {n}" for n in (3, 4, 5, 6, 7)]
    assert all("outside 1990-01-01" in e for e in bad.examples)


def test_a_strict_run_stops_at_a_future_timestamp(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("timestamp,user_id,item_id,event\n1700000000,u1,i1,view\n3000-01-01,u1,i2,view\n")
    try:
        read_events(path, CONTRACT, strict=True)
    except ValueError as e:
        assert "e.csv line 3" in str(e) and "outside" in str(e)
    else:
        raise AssertionError("a strict read accepted a year-3000 timestamp")


def test_the_floor_is_1990():
    assert EARLIEST_TIME == 631_152_000  # 1990-01-01T00:00:00Z


def test_the_clock_passes_over_a_stray_newest_event():
    days = np.arange(1_700_000_000, 1_700_000_000 + 100 * 86_400, 3_600, dtype=np.int64)
    assert clock(days) == days.max()
    stray = np.append(days, int(time.time()))
    assert clock(stray) == days.max()
    near = np.append(days, days.max() + CLOCK_GAP_S // 2)  # a late event close to the rest sets the clock
    assert clock(near) == near.max()
    assert clock(np.array([5, 1_700_000_000])) == 1_700_000_000  # too few events to call one a stray


def test_one_stray_row_does_not_age_the_model(r, tmp_path):
    paths = write_shop(tmp_path / "shop")
    config = TrainConfig(factors=8, iterations=2)
    inputs = Inputs(events=paths["events"], catalog=paths["catalog"], categories=paths["categories"])
    clean = train(r, inputs, config).summary
    with open(paths["events"], "a") as f:
        f.write(f"{int(time.time()) - HOUR},stray-user,shoe-1,purchase\n")  # readable, in the window
    stray = train(r, inputs, config).summary
    assert stray.data.last_event == clean.data.last_event
    assert stray.counts.events == clean.counts.events + 1
