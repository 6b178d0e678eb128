"""Reading events, catalogs and category trees: formats, presets, bad rows with line numbers."""

import gzip

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from training.inputs.catalog_files import read_catalog, read_categories
from training.inputs.presets import get_preset
from training.inputs.readers import EVENTS, InputError, read_events

CONTRACT = get_preset(None)


def write(path, text: str):
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


def names(events, column):
    """The events' users or items as strings."""
    codes = getattr(events, column)
    return [getattr(events, f"{column}_ids")[c] for c in codes]


def test_reads_csv_with_aliases_and_time_formats(tmp_path):
    path = write(
        tmp_path / "e.csv",
        (
            "timestamp,user_id,item_id,event,quantity\n"
            "1700000000,u1,i1,pv,\n"
            "1700000000500,u1,i2,cart,2\n"
            "2023-11-14T22:13:21Z,u2,i1,buy,1\n"
            "2023-11-14 22:13:22,u2,i3,transaction,1\n"
            "1700000001,u3,007,fav,1\n"
        ),
    )
    events, bad = read_events(path, CONTRACT)
    assert bad.count == 0
    assert [EVENTS[e] for e in events.event] == ["view", "addtocart", "purchase", "purchase", "wishlist"]
    assert events.timestamp.tolist() == [1700000000, 1700000000, 1700000001, 1700000002, 1700000001]
    assert events.quantity.tolist() == [1, 2, 1, 1, 1]
    assert names(events, "item")[-1] == "007"  # ids stay strings


def test_bad_rows_are_counted_with_line_numbers(tmp_path):
    path = write(
        tmp_path / "e.csv",
        (
            "timestamp,user_id,item_id,event\n"
            "1700000000,u1,i1,view\n"
            "1700000000,u1,i2,click\n"  # line 3: unknown event
            "yesterday,u1,i2,view\n"  # line 4: bad timestamp
            "1700000000,u1\n"  # line 5: missing fields
            "1700000000,,i2,view\n"  # line 6: empty user
            "1700000000,u\u200b2,i2,view\n"  # line 7: a zero-width space in an id
            "1700000000,u2,i3,purchase\n"
        ),
    )
    events, bad = read_events(path, CONTRACT)
    assert len(events) == 2
    assert bad.count == 5
    text = "\n".join(bad.examples)
    for line, words in [(3, "click"), (4, "yesterday"), (5, "expected 4 fields"), (6, "user_id"), (7, "u\\u200b2")]:
        assert f"e.csv line {line}:" in text and words in text


def test_strict_stops_at_the_first_bad_row(tmp_path):
    text = "timestamp,user_id,item_id,event\n1700000001,u,i,view\n1700000002,u,i,click\n1700000003,u,i,nope\n"
    path = write(tmp_path / "e.csv", text)
    with pytest.raises(InputError, match=r"e.csv line 3: unknown event 'click'"):
        read_events(path, CONTRACT, strict=True)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "no events|cannot read"),
        ("timestamp,user_id,item_id,event\n", "no events"),
        ("when,who,what\n1,u,i\n", "missing column"),
        ("timestamp,user_id,item_id,event\n1700000001,u,i,addtocart\n", "no purchases or views"),
        ("timestamp,user_id,item_id,event\n1700000001,u,i,click\n", "no valid events"),
    ],
)
def test_input_that_cannot_be_trained_on_is_one_clear_error(tmp_path, text, message):
    with pytest.raises(InputError, match=message) as error:
        read_events(write(tmp_path / "e.csv", text), CONTRACT)
    assert "\n" not in str(error.value)


def test_missing_path(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_events(tmp_path / "nope.csv", CONTRACT)


def test_a_folder_of_mixed_files(tmp_path):
    write(tmp_path / "a.csv", "timestamp,user_id,item_id,event\n1700000001,u1,i1,view\n")
    write(tmp_path / "b.csv.gz", "timestamp,user_id,item_id,event\n1700000002,u2,i2,purchase\nbad,u2,i2,view\n")
    third = {"timestamp": [1700000003], "user_id": ["u3"], "item_id": ["i1"], "event": ["view"]}
    pq.write_table(pa.table(third), tmp_path / "c.parquet")
    events, bad = read_events(tmp_path, CONTRACT)
    assert sorted(names(events, "user")) == ["u1", "u2", "u3"]
    assert bad.count == 1 and bad.examples[0].startswith("b.csv.gz line 3")


def test_semicolon_separated(tmp_path):
    path = write(tmp_path / "e.csv", "timestamp;user_id;item_id;event\n1700000001;u1;i1;view\n")
    events, _ = read_events(path, CONTRACT)
    assert names(events, "item") == ["i1"]


def test_retailrocket_preset_reads_the_public_format(tmp_path):
    path = write(
        tmp_path / "events.csv",
        (
            "timestamp,visitorid,event,itemid,transactionid\n"
            "1433221332117,257597,view,355908,\n"
            "1433224214164,992329,transaction,248676,4000\n"
        ),
    )
    events, bad = read_events(path, get_preset("retailrocket"))
    assert bad.count == 0 and names(events, "user") == ["257597", "992329"]
    assert events.timestamp.tolist() == [1433221332, 1433224214]
    tree = write(tmp_path / "category_tree.csv", "categoryid,parentid\n1016,213\n213,\n")
    parents, _ = read_categories(tree, get_preset("retailrocket"))
    assert parents == {"1016": "213", "213": None}


def test_taobao_preset_reads_headerless_rows_with_categories(tmp_path):
    path = write(tmp_path / "UserBehavior.csv", "1,2268318,2520377,pv,1511544070\n1,2333346,2520771,buy,1511561733\n")
    events, bad = read_events(path, get_preset("taobao"))
    assert bad.count == 0 and [EVENTS[e] for e in events.event] == ["view", "purchase"]
    assert events.item_categories == {"2268318": "2520377", "2333346": "2520771"}


def test_catalog_rows(tmp_path):
    path = write(
        tmp_path / "c.csv",
        (
            "item_id,category_id,title,price,available\n"
            "i1,c1,Shoe,89.5,true\n"
            "i2,c1,Sock,cheap,true\n"  # line 3: bad price
            "i3,c2,Hat,10,false\n"
            ",c2,Nothing,1,true\n"
        ),
    )  # line 5: no id
    catalog, bad = read_catalog(path, CONTRACT)
    assert catalog.items["i1"] == {"category_id": "c1", "title": "Shoe", "price": 89.5, "available": True}
    assert catalog.items["i3"]["available"] is False
    assert set(catalog.items) == {"i1", "i3"}
    assert bad.count == 2 and bad.examples[0].startswith("c.csv line 3")


@pytest.mark.parametrize(
    "values, kind, stored",
    [
        (["true", "FALSE", "Yes", " no "], "boolean", [True, False, True, False]),
        (["1", "0", "1"], "number", [1.0, 0.0, 1.0]),  # 1 and 0 alone are numbers
        (["0.31", "-2", "1e3", "0"], "number", [0.31, -2.0, 1000.0, 0.0]),
        (["12", "007", "0.5"], "string", ["12", "007", "0.5"]),  # a leading zero: codes, kept as text
        (["yes", "no", "1"], "string", ["yes", "no", "1"]),
        (["3", "inf", "4"], "string", ["3", "inf", "4"]),  # numbers are finite
        (["acme", " zoom ", "12"], "string", ["acme", "zoom", "12"]),
    ],
)
def test_each_other_catalog_column_gets_one_type(tmp_path, values, kind, stored):
    rows = "".join(f"i{n},c1,{v}\n" for n, v in enumerate(values))
    path = write(tmp_path / "c.csv", "item_id,category_id,tag\n" + rows + "empty,c1,\n")
    catalog, bad = read_catalog(path, CONTRACT)
    assert bad.count == 0 and catalog.types == {"tag": kind}
    assert [catalog.items[f"i{n}"]["tag"] for n in range(len(values))] == stored
    assert "tag" not in catalog.items["empty"]  # an empty cell leaves the attribute out


def test_catalog_columns_past_the_limits_are_skipped_and_reported_once(tmp_path):
    folder = tmp_path / "catalog"
    folder.mkdir()
    many = [f"a{n}" for n in range(52)]
    header = ["item_id", "category_id", "reason", "x" * 65, "notes", "long", *many]
    for part in (1, 2):  # two files with the same columns: each problem is reported once
        rows = [f"i{part}{n},c1,r,x,note,{'y' * (1001 if n == 0 else 3)}," + ",".join("1" * 52) for n in range(3)]
        write(folder / f"c{part}.csv", ",".join(header) + "\n" + "\n".join(rows) + "\n")
    catalog, bad = read_catalog(folder, CONTRACT)
    assert list(catalog.types) == ["notes", *many[:49]]  # 50 in all, in the order of the columns
    assert set(catalog.items["i10"]) == {"category_id", "available", "notes", *many[:49]}
    assert (bad.count, bad.columns, bad.rows, bad.kept) == (6, 6, 0, 6)
    assert bad.examples[:3] == [
        "c1.csv: column 'reason' skipped: the name is reserved for answers and rules "
        "(item_id, category_id, score, reason, available, category)",
        f"c1.csv: column '{'x' * 65}' skipped: not a name: a letter or _, then up to 63 letters, digits or _",
        "c1.csv: column 'long' skipped: a value has 1,001 characters, more than 1,000",
    ]
    assert bad.examples[3:] == [
        "c1.csv: column 'a49' skipped: more than 50 other columns",
        "c1.csv: column 'a50' skipped: more than 50 other columns",
    ]
    with pytest.raises(InputError, match=r"c1.csv: column 'reason' skipped: the name is reserved"):
        read_catalog(folder, CONTRACT, strict=True)


@pytest.mark.slow
@pytest.mark.parametrize(
    "relative, preset, events_expected",
    [
        ("taobao_userbehavior_head/UserBehavior_head.csv.gz", "taobao", 84_475),
        ("retailrocket/sample_events.csv.gz", "retailrocket", 9_385),
    ],
)
def test_shared_data_sets_read_cleanly(shared_data, relative, preset, events_expected):
    events, bad = read_events(shared_data / relative, get_preset(preset))
    assert len(events) == events_expected and bad.count == 0
    assert np.isin(events.event, [0, 2]).any()
