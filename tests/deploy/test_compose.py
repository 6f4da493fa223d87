"""The compose stack as `docker-compose config` resolves it (Debian's docker-compose; no engine is
needed): one migrator that everything waits for, restart policies, and a GPU profile."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.deploy.conftest import REPO


def config(*profile: str) -> dict:
    out = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", *profile, "config"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin"},  # the defaults, not this shell's variables
    )
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)["services"]


@pytest.fixture(scope="module")
def services() -> dict:
    return config("--profile", "gpu")


def test_both_profiles_are_valid():
    assert {"postgres", "migrate", "app"} <= set(config())


def test_only_the_migrate_job_migrates_and_the_others_wait_for_it(services):
    migrating = [name for name, s in services.items() if "upgrade" in " ".join(s.get("command") or [])]
    assert migrating == ["migrate"]
    assert services["migrate"]["command"] == ["paperclip", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("app", "indexer", "app-gpu", "indexer-gpu"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("app", "app-gpu"):
        assert "command" not in services[name]  # the image's exec-form CMD: `paperclip serve`, PID 1


def test_restart_policies(services):
    for name in ("postgres", "app", "app-gpu"):
        assert services[name]["restart"] == "unless-stopped"
    for name in ("migrate", "indexer", "indexer-gpu"):  # one-shot jobs: retried on failure, then done
        assert services[name]["restart"].startswith("on-failure")
    for name in ("app", "app-gpu"):  # longer than the drain of requests in flight
        assert services[name]["stop_grace_period"] == "40s"


def test_gpu_profile_reserves_the_gpu_and_builds_for_cuda(services):
    for name in ("app-gpu", "indexer-gpu"):
        s = services[name]
        assert s["profiles"] == ["gpu"]
        devices = s["deploy"]["resources"]["reservations"]["devices"]
        assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
        assert s["build"]["args"]["ACCELERATOR"] == "gpu"
        assert s["environment"]["PAPERCLIP_DEVICE"] == "cuda"
        assert s["image"] != services["app"]["image"]
    for name in ("app", "migrate", "indexer"):
        s = services[name]
        assert "deploy" not in s and "gpu" not in s.get("profiles", [])
        assert s["build"]["args"]["ACCELERATOR"] == "cpu" and s["environment"]["PAPERCLIP_DEVICE"] == "cpu"
    assert services["app"]["ports"] != services["app-gpu"]["ports"]  # both can run on one host
