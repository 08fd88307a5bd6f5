"""Production mode: CARTRACK_ENVIRONMENT is one of three values in any letter case, anything
else stops start-up with a clear message, and production refuses weak or public secrets and
the test suites' cheap password hashing."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from cartrack.app import create_app
from cartrack.labels.payload import derive_label_key
from cartrack.settings import DEFAULT_SECRET
from tests.helpers.alerts import configure, env_for_subprocess, free_port
from tests.helpers.constants import PASSWORD

CLI = [sys.executable, "-m", "cartrack.cli"]
STRONG = "k" * 32
GOOD_PRODUCTION = {"secret_key": "a-production-secret-of-at-least-32-bytes",
                   "password_hash_profile": "standard"}


def start(**settings: Any) -> subprocess.CompletedProcess[str]:
    """`cartrack serve` as an operator starts it; a refusal exits before it serves."""
    env = env_for_subprocess(**settings)
    return subprocess.run([*CLI, "serve", "--port", str(free_port())], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("value", ["prod", "Staging", "", "production!"])
def test_an_unknown_environment_stops_start_up_with_the_allowed_values(
        db_url: str, value: str) -> None:
    run = start(environment=value, **GOOD_PRODUCTION)
    assert run.returncode == 2, run.stderr
    assert "CARTRACK_ENVIRONMENT must be one of development, test, production (any letter " \
           f"case), not {value!r}" in run.stderr
    assert "Traceback" not in run.stderr


def test_production_in_capitals_refuses_the_public_default_secret(db_url: str) -> None:
    run = start(environment="Production", secret_key=DEFAULT_SECRET,
                password_hash_profile="standard")
    assert run.returncode == 2, run.stderr
    assert "refusing to start" in run.stderr and "CARTRACK_SECRET_KEY" in run.stderr
    assert "public development default" in run.stderr


@pytest.mark.parametrize("spelling", ["PRODUCTION", "Production", " production "])
def test_production_in_any_letter_case_is_production(db_url: str, monkeypatch: Any,
                                                     spelling: str) -> None:
    configure(monkeypatch, environment=spelling, **GOOD_PRODUCTION)
    with TestClient(create_app(start_scheduler=False)) as client:
        r = client.post("/api/auth/login", json={"username": "qa", "password": PASSWORD})
        assert r.status_code == 200, r.text
        assert "secure" in r.headers["set-cookie"].lower()
        assert "strict-transport-security" in r.headers
        assert '"openapi"' not in client.get("/openapi.json").text


@pytest.mark.parametrize("spelling", ["Test", "DEVELOPMENT"])
def test_other_environments_in_any_letter_case(db_url: str, monkeypatch: Any,
                                               spelling: str) -> None:
    configure(monkeypatch, environment=spelling)
    with TestClient(create_app(start_scheduler=False)) as client:
        r = client.post("/api/auth/login", json={"username": "qa", "password": PASSWORD})
        assert r.status_code == 200, r.text
        assert "secure" not in r.headers["set-cookie"].lower()


REFUSED = [
    ({"secret_key": "s" * 31}, "CARTRACK_SECRET_KEY must be at least 32 bytes"),
    ({"label_keys": f"K2:{'x' * 31}"}, "CARTRACK_LABEL_KEYS: key K2 must be at least 32 bytes"),
    ({"label_keys": f"K2:{STRONG},K1:short"}, "CARTRACK_LABEL_KEYS: key K1 must be at least"),
    ({"label_keys": f"K2:{DEFAULT_SECRET}"}, "CARTRACK_LABEL_KEYS: key K2 is the development"),
    ({"label_keys": f"K2:{derive_label_key(DEFAULT_SECRET).hex()}"},
     "key K2 is the development label key"),
    ({"label_keys": f"K2:{STRONG}", "retired_label_keys": "K1:weak"},
     "CARTRACK_RETIRED_LABEL_KEYS: key K1 must be at least 32 bytes"),
    ({"password_hash_profile": "fast"}, "CARTRACK_PASSWORD_HASH_PROFILE=fast is for test suites"),
]


@pytest.mark.parametrize(("settings", "message"), REFUSED)
def test_production_refuses_weak_secrets_keys_and_cheap_hashing(
        db_url: str, monkeypatch: Any, settings: dict[str, str], message: str) -> None:
    configure(monkeypatch, environment="production", **(GOOD_PRODUCTION | settings))
    with pytest.raises(ValidationError, match="refusing to run in production") as refused:
        create_app(start_scheduler=False)
    assert message in str(refused.value)
    configure(monkeypatch, environment="test")  # the same settings outside production start
    create_app(start_scheduler=False)


def test_production_accepts_strong_keys_counted_in_bytes(db_url: str, monkeypatch: Any) -> None:
    configure(monkeypatch, environment="production", secret_key="é" * 16,  # 32 bytes
              label_keys=f"K2:{STRONG}", retired_label_keys="K1",  # a retired kid, no secret
              password_hash_profile="standard")
    with TestClient(create_app(start_scheduler=False)) as client:
        assert client.get("/api/health").json()["status"] == "ok"


def test_the_hash_profile_is_one_of_two(db_url: str) -> None:
    run = start(password_hash_profile="cheap")
    assert run.returncode == 2
    assert "CARTRACK_PASSWORD_HASH_PROFILE must be one of standard, fast" in run.stderr
