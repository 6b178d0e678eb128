"""Converters for public formats that need more than a column map: they write contract-format files.

Each writes ``events.csv.gz`` (timestamp, user_id, item_id, event) and a ``catalog.csv``
(item_id, category_id[, title]) and, where the format has one, ``categories.csv``
(category_id, parent_id), which ``recsvc train`` and ``recsvc evaluate`` read as they are.
"""

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from recsvc.contract.units import DAY

INSTACART_END = int(datetime(2017, 6, 1, tzinfo=timezone.utc).timestamp())
"""Instacart has relative time only: every user's last order is placed on this day."""


def _read(path: Path, delimiter: str = ",", **types) -> pa.Table:
    return pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(column_types=types, null_values=["", "NA"], strings_can_be_null=True),
    )


def _write(table: pa.Table, path: Path) -> Path:
    if path.name.endswith(".gz"):
        with pa.CompressedOutputStream(str(path), "gzip") as out:
            pacsv.write_csv(table, out)
    else:
        pacsv.write_csv(table, path)
    return path


def instacart(source: Path, out: Path) -> dict[str, Path]:
    """Instacart order lines -> purchases on a time axis built per user from order numbers.

    A user's orders are placed ``days_since_prior_order`` apart (at their hour of day), and
    every user's last order falls on INSTACART_END, so a time split holds out each user's
    latest orders. Products give catalog categories (aisles) under departments.
    """
    source, out = Path(source), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lines = _read(source / "order_lines.csv.gz", user_id=pa.string(), product_id=pa.string())
    orders = lines.group_by(["user_id", "order_id"]).aggregate(
        [("order_number", "min"), ("days_since_prior_order", "min"), ("order_hour_of_day", "min")]
    )
    user = orders["user_id"].to_numpy(zero_copy_only=False)
    number = orders["order_number_min"].to_numpy()
    gap = np.nan_to_num(orders["days_since_prior_order_min"].to_numpy(zero_copy_only=False).astype(float))
    hour = orders["order_hour_of_day_min"].to_numpy()
    order = np.lexsort((number, user))
    user, gap = user[order], gap[order]
    first = np.r_[True, user[1:] != user[:-1]]
    gap[first] = 0
    day = np.cumsum(gap)
    start = np.maximum.accumulate(np.where(first, np.arange(len(day)), 0))
    day = day - day[start]  # days since the user's first order
    last = np.r_[user[1:] != user[:-1], True]
    total = np.repeat(day[last], np.diff(np.r_[np.flatnonzero(first), len(day)]))
    when = INSTACART_END - ((total - day) * DAY).astype(np.int64) + hour[order].astype(np.int64) * 3600
    time_of = dict(zip(orders["order_id"].to_numpy()[order].tolist(), when.tolist()))
    ts = np.array([time_of[o] for o in lines["order_id"].to_numpy().tolist()], dtype=np.int64)
    events = pa.table(
        {
            "timestamp": ts,
            "user_id": lines["user_id"],
            "item_id": lines["product_id"],
            "event": pa.array(["purchase"] * lines.num_rows),
        }
    )
    products = _read(
        source / "products.csv.gz", product_id=pa.string(), aisle_id=pa.string(), department_id=pa.string()
    )
    products = products.filter(pc.is_in(products["product_id"], value_set=pc.unique(lines["product_id"])))
    catalog = pa.table(
        {
            "item_id": products["product_id"],
            "category_id": pc.binary_join_element_wise("aisle-", products["aisle_id"], ""),
            "title": products["product_name"],
        }
    )
    pairs = pa.table({"a": products["aisle_id"], "d": products["department_id"]}).group_by(["a", "d"]).aggregate([])
    departments = pc.unique(pairs["d"])
    categories = pa.table(
        {
            "category_id": pa.concat_arrays(
                [
                    pc.binary_join_element_wise("aisle-", pairs["a"].combine_chunks(), ""),
                    pc.binary_join_element_wise("dept-", departments, ""),
                ]
            ),
            "parent_id": pa.concat_arrays(
                [
                    pc.binary_join_element_wise("dept-", pairs["d"].combine_chunks(), ""),
                    pa.array([""] * len(departments)),
                ]
            ),
        }
    )
    return {
        "events": _write(events, out / "events.csv.gz"),
        "catalog": _write(catalog, out / "catalog.csv"),
        "categories": _write(categories, out / "categories.csv"),
    }


def diginetica(source: Path, out: Path) -> dict[str, Path]:
    """DIGINETICA purchases and item views -> events; an anonymous session is its own user.

    An event's time is its day (``eventdate``) plus its ``timeframe`` (ms into the session).
    """
    source, out = Path(source), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    parts = []
    for name, event, columns in (
        ("train-purchases.csv.gz", "purchase", ("sessionId", "userId", "itemId")),
        ("sample_train-item-views.csv.gz", "view", ("session_id", "user_id", "item_id")),
    ):
        path = source / name
        if not path.exists():
            continue
        session, user, item = columns
        t = _read(path, ";", **{session: pa.string(), user: pa.string(), item: pa.string(), "eventdate": pa.string()})
        day = pc.cast(pc.strptime(t["eventdate"], format="%Y-%m-%d", unit="s"), pa.int64())
        ts = pc.add(day, pc.divide(pc.cast(t["timeframe"], pa.int64()), 1000))
        who = pc.coalesce(t[user], pc.binary_join_element_wise("session-", t[session], ""))
        parts.append(
            pa.table({"timestamp": ts, "user_id": who, "item_id": t[item], "event": pa.array([event] * t.num_rows)})
        )
    events = pa.concat_tables(parts)
    result = {"events": _write(events, out / "events.csv.gz")}
    categories = source / "product-categories.csv.gz"
    if categories.exists():
        c = _read(categories, ";", itemId=pa.string(), categoryId=pa.string())
        c = c.filter(pc.is_in(c["itemId"], value_set=pc.unique(events["item_id"])))
        result["catalog"] = _write(
            pa.table({"item_id": c["itemId"], "category_id": c["categoryId"]}), out / "catalog.csv"
        )
    return result


CONVERTERS = {"instacart": instacart, "diginetica": diginetica}
