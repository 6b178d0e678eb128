"""Files a shop actually has, and a Redis that fills up: train what can be read, else exit 2 with one line.

Regressions: a CSV saved by Excel as "CSV UTF-8" (with a byte order mark) could not be trained on;
a truncated or garbage ``.gz`` or ``.parquet`` ended in a traceback; so did Redis out of memory.
"""

import gzip
import shutil

import pytest
import redis

from recsvc.contract import keys, versions
from tests.commands import assert_failed_in_one_line, train
from tests.shop import write_shop
from training.inputs.catalog_files import read_catalog
from training.inputs.presets import get_preset
from training.private_redis import RedisServer

BOM = "\ufeff"


@pytest.fixture
def shop(tmp_path):
    return write_shop(tmp_path / "shop")


def with_bom(path, target):
    target.write_text(BOM + path.read_text(), encoding="utf-8")
    return target


def test_a_csv_with_a_byte_order_mark_trains(r, redis_url, shop, tmp_path, capsys):
    events = with_bom(shop["events"], tmp_path / "events.csv")
    catalog = with_bom(shop["catalog"], tmp_path / "catalog.csv")
    with open(events, "a") as f:
        f.write("1700000000,u-007,007,view\n")  # ids keep their form
    code, out, err = train(capsys, redis_url, events, "--catalog", str(catalog), "--strict")
    assert code == 0, err
    counts = versions.list_versions(r)[0].summary.counts
    assert counts.items == 14 and counts.bad_rows == 0
    assert r.exists(keys.item(versions.current(r), "007"))
    gz = tmp_path / "events.csv.gz"
    with open(events, "rb") as f, gzip.open(gz, "wb") as g:
        shutil.copyfileobj(f, g)
    assert train(capsys, redis_url, gz, "--strict")[0] == 0


def truncated_gzip(shop, path):
    with gzip.open(path, "wb") as f:
        f.write(shop["events"].read_bytes())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize(
    "name, make",
    [
        ("events.csv.gz", truncated_gzip),
        ("events.csv.gz", lambda shop, path: path.write_bytes(b"not gzip at all\n" * 10) and path),
        ("events.csv.gz", lambda shop, path: path.write_bytes(b"\x1f\x8b") and path),
        ("events.parquet", lambda shop, path: path.write_bytes(b"PAR1 and then garbage") and path),
        ("events.parquet", lambda shop, path: path.write_bytes(shop["events"].read_bytes()) and path),
    ],
)
def test_a_broken_file_fails_in_one_line_naming_it(r, redis_url, shop, tmp_path, capsys, name, make):
    assert train(capsys, redis_url, shop["events"])[0] == 0
    served = versions.current(r)
    path = make(shop, tmp_path / name)
    assert_failed_in_one_line(*train(capsys, redis_url, path), name, "unchanged")
    folder = tmp_path / "folder"
    folder.mkdir()
    shutil.copy(shop["events"], folder / "a.csv")
    shutil.copy(path, folder / name)
    assert_failed_in_one_line(*train(capsys, redis_url, folder), name)
    broken_catalog = ["--catalog", str(path)]
    assert_failed_in_one_line(*train(capsys, redis_url, shop["events"], *broken_catalog), name)
    assert versions.current(r) == served and len(versions.list_versions(r)) == 1


def many_users(shop, path, users=20_000):
    """The shop's events and a crowd of users who each view two items and buy one."""
    lines = shop["events"].read_text().splitlines()
    items = ["shoe-1", "shirt-1", "tv-1", "cable-1", "coffee-1", "sock-1"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
        for u in range(users):
            a, b = items[u % 6], items[(u * 7 + 1) % 6]
            t = 1_700_000_000 + u * 60
            f.write(f"{t},crowd-{u},{a},view\n{t + 5},crowd-{u},{b},view\n{t + 9},crowd-{u},{a},purchase\n")
    return path


def test_redis_out_of_memory_fails_in_one_line_and_keeps_the_model(shop, tmp_path, capsys):
    server = RedisServer(args=("--maxmemory", "2mb", "--maxmemory-policy", "noeviction")).start()
    try:
        r = redis.Redis.from_url(server.url)
        assert train(capsys, server.url, shop["events"])[0] == 0
        served = versions.current(r)
        code, out, err = train(capsys, server.url, many_users(shop, tmp_path / "big.csv"))
        assert_failed_in_one_line(code, out, err, "Redis", "out of memory", "did not change")
        assert versions.current(r) == served and [v.version for v in versions.list_versions(r)] == [served]
        assert r.smembers(keys.STAGING) == set() and not r.exists(keys.PUBLISH_LOCK)
        assert len(r.keys(keys.PREFIX + ":v:*:meta")) == 1 and versions.missing(r, served) == []
        assert train(capsys, server.url, shop["events"])[0] == 0  # the failed run left room for the next
    finally:
        server.stop()


PROPERTIES = """timestamp,itemid,property,value
1435460400000,460429,categoryid,1338
1441508400000,206783,888,1116713 960601 n277.200
1439089200000,395014,400,n552.000 639502 n720.000 424566
1431226800000,59481,790,n15360.000
1431831600000,156781,917,828513
1436065200000,285026,available,0
1434250800000,89534,213,1121373
1431831600000,264312,6,319724
1433646000000,229370,202,1330310
1434250800000,98113,451,1141052 n48.000
1433646000000,460429,categoryid,1277
1442113200000,460429,categoryid,1338
1431226800000,206783,categoryid,1027
"""


def test_the_retailrocket_preset_reads_item_properties_as_they_ship(tmp_path):
    folder = tmp_path / "properties"
    folder.mkdir()
    head, *rows = PROPERTIES.splitlines()
    (folder / "item_properties_part1.csv").write_text("\n".join([head, *rows[:7]]) + "\n")
    (folder / "item_properties_part2.csv").write_text("\n".join([head, *rows[7:]]) + "\n")
    catalog, bad = read_catalog(folder, get_preset("retailrocket"))
    assert bad.count == 0
    assert catalog.items["460429"]["category_id"] == "1338"  # the latest of 1338, 1277, 1338
    assert catalog.items["206783"]["category_id"] == "1027"
    assert set(catalog.items) == {"460429", "206783"}  # items with no category property add nothing
    simple = tmp_path / "catalog.csv"  # what worked before keeps working
    simple.write_text("itemid,categoryid\n460429,1338\n")
    catalog, _ = read_catalog(simple, get_preset("retailrocket"))
    assert catalog.items["460429"]["category_id"] == "1338"


def test_recsvc_train_takes_item_properties_as_the_retailrocket_catalog(r, redis_url, tmp_path, capsys):
    events = tmp_path / "events.csv"
    rows = ["timestamp,visitorid,event,itemid,transactionid"]
    for v in range(40):
        rows.append(f"{1433221332117 + v * 1000},{v},view,{('460429', '206783', '5')[v % 3]},")
        rows.append(f"{1433221332117 + v * 1000 + 500},{v},view,{('206783', '5', '460429')[v % 3]},")
    events.write_text("\n".join(rows) + "\n")
    properties = tmp_path / "item_properties_part1.csv"
    properties.write_text(PROPERTIES)
    code, out, err = train(capsys, redis_url, events, "--preset", "retailrocket", "--catalog", str(properties))
    assert code == 0, err
    version = versions.current(r)
    attrs = [a.decode() for a in r.hvals(keys.attrs(version))]
    assert any('"item_id":"460429","category_id":"1338"' in a for a in attrs)
    assert any('"item_id":"206783","category_id":"1027"' in a for a in attrs)
