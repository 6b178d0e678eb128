"""The README's commands run: its make targets exist, its `recsvc` lines parse, its URLs answer on the demo shop."""

import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from cli.main import _parser
from tests.browser import train_demo_shop

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def shell_lines(page: Path) -> list[str]:
    """The commands of a page's ```sh blocks, continuation lines joined and comments dropped."""
    blocks = re.findall(r"```sh\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)
    lines = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            command = line.split("  #", 1)[0].strip()
            if command and not command.startswith("#"):
                lines.append(command)
    return lines


def recsvc_commands() -> list[tuple[str, str]]:
    """Every `recsvc ...` command of the README and the docs, with its page."""
    found = []
    for page in PAGES:
        for line in shell_lines(page):
            for part in re.split(r"\s(?:&&|\|\||;)\s", line):
                if part.strip().startswith("recsvc "):
                    found.append((page.name, part.strip()))
    return found


def test_the_readme_has_commands_to_check():
    """Guards the extraction itself: the README's blocks are found."""
    assert any(line.startswith("make demo") for line in shell_lines(ROOT / "README.md"))
    assert len([c for page, c in recsvc_commands() if page == "README.md"]) >= 6


def test_make_targets_exist():
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), flags=re.M))
    for line in shell_lines(ROOT / "README.md"):
        if line.startswith("make "):
            assert line.split()[1] in targets, line


@pytest.mark.parametrize(("page", "command"), recsvc_commands())
def test_recsvc_command_parses(page, command):
    """Each documented command names flags and choices the command line has."""
    usage = re.sub(r"\[([^\]]+)\]", r"\1", command)  # a usage line's [--optional FLAG] is parsed as given
    try:
        _parser().parse_args(shlex.split(usage, comments=True)[1:])
    except SystemExit as e:
        pytest.fail(f"{page}: `{command}` does not parse ({e})")


@pytest.fixture(scope="module")
def demo_client(redis_url, tmp_path_factory):
    from recsvc import create_app

    r = redis.Redis.from_url(redis_url)
    r.flushdb()
    train_demo_shop(r, tmp_path_factory.mktemp("demo"))
    yield create_app({"REDIS_URL": redis_url, "TESTING": True}).test_client()
    r.flushdb()


def readme_urls() -> list[str]:
    urls = re.findall(r"curl -s '(http://127\.0\.0\.1:8000/[^']+)'", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert urls, "the README shows no URL to try"
    return urls


@pytest.mark.parametrize("url", readme_urls())
def test_readme_urls_answer_on_the_demo_shop(demo_client, url):
    """The URLs the README shows answer from the model, as the demo serves them."""
    parts = urlsplit(url)
    answer = demo_client.get(f"{parts.path}?{parts.query}")
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["source"] != "popular" or "/popular" in parts.path
    assert body["items"]
