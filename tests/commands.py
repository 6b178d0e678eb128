"""Running ``recsvc train`` in-process and checking how it fails, for the tests of bad input."""

from cli.main import main


def train(capsys, redis_url, events, *extra) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``recsvc train --events EVENTS`` with two ALS iterations."""
    code = main(["--redis-url", redis_url, "train", "--events", str(events), "--param", "iterations=2", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def assert_failed_in_one_line(code: int, out: str, err: str, *words: str) -> None:
    """Exit 2, nothing on stdout, one line on stderr naming every word, no traceback."""
    assert code == 2 and out == "", (code, out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, (word, err)
