"""What the benchmark scripts share: the repository on ``sys.path``, one BLAS thread, a private
redis-server, a training run in a child process and a description of the machine.

Each script imports this module before numpy (``import common``; the scripts run as
``python benchmarks/NAME.py``, so this folder is on ``sys.path``).
"""

import contextlib
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, installed or not
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads OpenBLAS; children inherit it


from recsvc.contract import keys  # noqa: E402
from recsvc.store.connect import connect  # noqa: E402
from training.private_redis import RedisServer, free_port  # noqa: E402,F401 (free_port: for the scripts)


def shared_data() -> Path:
    """The shared data sets: ``$RECSVC_SHARED_DATA``, else ``../shared/data`` beside the repository."""
    return Path(os.environ.get("RECSVC_SHARED_DATA", ROOT.parent / "shared" / "data"))


CONVERTED = (("instacart", "instacart_sample", "Instacart sample"), ("diginetica", "diginetica", "DIGINETICA"))
"""The shared data sets read after ``recsvc convert``: its format name, their folder, their label."""


def converted(data: Path, work: Path, notes: list[str]) -> dict[str, dict[str, Path]]:
    """label -> the files (``events``, ``catalog`` and, where made, ``categories``) of each shared data set that
    ``recsvc convert`` turns into contract files, converted into ``work``; a failed conversion is noted."""
    found: dict[str, dict[str, Path]] = {}
    for name, folder, label in CONVERTED:
        if not (data / folder).exists():
            continue
        out = work / name
        command = [sys.executable, "-m", "cli.main", "convert", name, "--source", str(data / folder)]
        done = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            notes.append(f"{label} skipped: recsvc convert failed: {done.stderr.strip()[-200:]}")
            continue
        found[label] = {"events": out / "events.csv.gz", "catalog": out / "catalog.csv"}
        if (out / "categories.csv").exists():
            found[label]["categories"] = out / "categories.csv"
    return found


def cpu_name() -> str:
    """The CPU model as /proc/cpuinfo names it ("?" where unknown)."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    except OSError:
        return "?"


def machine() -> str:
    """Cores, CPU and Python, for the heading of a report."""
    return f"{os.cpu_count()} cores, {cpu_name()}, Python {platform.python_version()}"


def stop_process(process: subprocess.Popen, group: bool = False) -> None:
    """SIGTERM, then SIGKILL after 10 s; with group, to the process group the process leads."""
    if process.poll() is not None:
        return
    kill = (lambda s: os.killpg(process.pid, s)) if group else process.send_signal
    with contextlib.suppress(ProcessLookupError):
        kill(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            kill(signal.SIGKILL)
        process.wait(5)


def run_training(url: str, data: dict, params: Sequence[str] = ()) -> tuple[float, float, dict]:
    """Wall seconds, peak MiB and the summary of one `recsvc train` child process on a synthetic shop's files."""
    command = [
        sys.executable,
        "-m",
        "cli.main",
        "--redis-url",
        url,
        "train",
        "--preset",
        "retailrocket",
        "--events",
        str(data["events"]),
        "--catalog",
        str(data["catalog"]),
        "--categories",
        str(data["category_tree"]),
    ]
    command += [arg for p in params for arg in ("--param", p)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"training failed:\n{done.stderr}")
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    r = connect(url)  # a single Redis or a cluster
    version = r.get(keys.CURRENT).decode()
    return wall, peak_mib, json.loads(r.get(keys.meta(version)))
