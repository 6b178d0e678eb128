"""The deployment files agree with the code: the compose file's build targets exist in the Dockerfile,
its settings are ones the service and the trainer read, and the trainer's command parses."""

import re
from pathlib import Path

import yaml

from cli.main import _parser
from recsvc import create_app

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_build_target_is_a_stage_of_the_dockerfile():
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE))
    targets = {s["build"]["target"] for s in compose()["services"].values() if "build" in s}
    assert targets == {"service", "trainer"} and targets <= stages


def test_every_setting_is_one_the_service_reads(redis_url):
    config = create_app({"REDIS_URL": redis_url}).config
    for name, service in compose()["services"].items():
        for variable in service.get("environment", {}):
            known = variable == "REDIS_URL" or (variable.startswith("RECSVC_") and variable[7:] in config)
            assert known, (name, variable)
    dockerfile_env = re.findall(r"\b(RECSVC_\w+)=", (ROOT / "Dockerfile").read_text())
    assert dockerfile_env and all(v[7:] in config for v in dockerfile_env)


def test_the_trainer_job_is_a_valid_command_line():
    command = compose()["services"]["trainer"]["command"]
    assert command[0] == "recsvc"
    args = _parser().parse_args(command[1:])
    assert args.events == Path("/data/events.csv")


def test_redis_keeps_its_data_across_restarts():
    redis = compose()["services"]["redis"]
    assert "--appendonly" in redis["command"] and redis["volumes"]
