"""The Instacart and DIGINETICA converters, on tiny files whose converted times are known."""

import gzip

from recsvc.contract.units import DAY
from training.inputs.catalog_files import read_catalog, read_categories
from training.inputs.convert import INSTACART_END, diginetica, instacart
from training.inputs.presets import get_preset
from training.inputs.readers import read_events


def write_gz(path, text):
    with gzip.open(path, "wt") as f:
        f.write(text)


def test_instacart_orders_get_a_time_axis_that_ends_with_each_users_last_order(tmp_path):
    src = tmp_path / "instacart"
    src.mkdir()
    write_gz(
        src / "order_lines.csv.gz",
        (
            ",order_id,user_id,order_number,order_dow,order_hour_of_day,days_since_prior_order,product_id,"
            "add_to_cart_order,reordered\n"
            "0,11,1,1,2,8,,196,1.0,0.0\n"
            "1,11,1,1,2,8,,14,2.0,0.0\n"
            "2,12,1,2,3,10,15.0,196,1.0,1.0\n"
            "3,21,2,1,0,9,,14,1.0,0.0\n"
        ),
    )
    write_gz(
        src / "products.csv.gz",
        "product_id,product_name,aisle_id,department_id\n14,Coffee,26,7\n196,Soda,77,7\n999,Unsold,1,1\n",
    )
    files = instacart(src, tmp_path / "out")
    events, bad = read_events(files["events"], get_preset(None))
    assert bad.count == 0
    when = {
        (events.user_ids[u], events.item_ids[i], int(t)) for u, i, t in zip(events.user, events.item, events.timestamp)
    }
    last_day = INSTACART_END
    assert when == {
        ("1", "196", last_day - 15 * DAY + 8 * 3600),
        ("1", "14", last_day - 15 * DAY + 8 * 3600),
        ("1", "196", last_day + 10 * 3600),
        ("2", "14", last_day + 9 * 3600),
    }
    catalog, _ = read_catalog(files["catalog"], get_preset(None))
    assert set(catalog.items) == {"14", "196"}  # only products that were ordered
    assert catalog.items["14"]["category_id"] == "aisle-26" and catalog.items["14"]["title"] == "Coffee"
    parents, _ = read_categories(files["categories"], get_preset(None))
    assert parents["aisle-26"] == "dept-7" and parents["dept-7"] is None


def test_diginetica_times_are_day_plus_timeframe_and_anonymous_sessions_are_users(tmp_path):
    src = tmp_path / "diginetica"
    src.mkdir()
    write_gz(
        src / "train-purchases.csv.gz",
        "sessionId;userId;timeframe;eventdate;ordernumber;itemId\n"
        "150;18278;17100;2016-05-06;16421;25911\n"
        "151;NA;6000;2016-05-07;16290;175874\n",
    )
    write_gz(
        src / "sample_train-item-views.csv.gz",
        "session_id;user_id;item_id;timeframe;eventdate\n1;NA;81766;526309;2016-05-09\n",
    )
    write_gz(src / "product-categories.csv.gz", "itemId;categoryId\n25911;1096\n81766;7\n5;5\n")
    files = diginetica(src, tmp_path / "out")
    events, _ = read_events(files["events"], get_preset(None))
    got = {
        (events.user_ids[u], events.item_ids[i], int(t), int(e))
        for u, i, t, e in zip(events.user, events.item, events.timestamp, events.event)
    }
    may6 = 1462492800  # 2016-05-06 00:00 UTC
    assert got == {
        ("18278", "25911", may6 + 17, 2),
        ("session-151", "175874", may6 + DAY + 6, 2),
        ("session-1", "81766", may6 + 3 * DAY + 526, 0),
    }
    catalog, _ = read_catalog(files["catalog"], get_preset(None))
    assert {k: v["category_id"] for k, v in catalog.items.items()} == {"25911": "1096", "81766": "7"}
