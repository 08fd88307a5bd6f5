"""Settings, all from CARTRACK_* environment variables."""

from __future__ import annotations

import base64
import hashlib
import hmac
from enum import StrEnum
from functools import lru_cache
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me-dev-secret-key-not-for-production"
MIN_SECRET_BYTES = 32
# The label key derived from DEFAULT_SECRET when no label keys are set; labels.payload derives
# it the same way (a test holds the two together).
_DEV_LABEL_KEY = hmac.new(DEFAULT_SECRET.encode(), b"cartrack-label-key-v1", hashlib.sha256).digest()
_DEV_LABEL_KEY_SPELLINGS = {DEFAULT_SECRET, _DEV_LABEL_KEY.hex(), base64.b64encode(_DEV_LABEL_KEY).decode()}


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class HashProfile(StrEnum):
    """argon2id cost: ``standard`` is RFC 9106's low-memory profile; ``fast`` is argon2-cffi's
    cheapest, for test suites only (production refuses it)."""

    standard = "standard"
    fast = "fast"


def _member(enum: type[StrEnum], setting: str, value: Any) -> Any:
    """An enum value from any letter case; anything else refused with the allowed values."""
    if not isinstance(value, str):
        return value
    wanted = value.strip().lower()
    if wanted not in {m.value for m in enum}:
        allowed = ", ".join(m.value for m in enum)
        raise ValueError(f"{setting} must be one of {allowed} (any letter case), not {value!r}")
    return wanted


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARTRACK_", extra="ignore")

    environment: Environment = Field(Environment.development,
                                     description="development | test | production")
    database_url: str = "sqlite:///./cartrack.db"
    secret_key: str = DEFAULT_SECRET
    # Label signing keys: "kid:secret,kid:secret"; the first is used to sign new labels.
    label_keys: str = ""
    retired_label_keys: str = ""
    password_hash_profile: HashProfile = HashProfile.standard
    session_idle_minutes: int = 15
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    token_minutes: int = 60
    temporary_password_hours: int = 24
    max_body_bytes: int = 1_000_000
    # Logger CSV files stream in (POST /api/shipments/{id}/readings): their own limit.
    max_upload_bytes: int = 50_000_000
    scheduler_enabled: bool = True
    scheduler_poll_seconds: float = 0.5
    escalation_minutes: int = 10
    bedside_scan_minutes: int = 15
    fin: str = "A9999"
    demo_password: str = "cartrack-demo"
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "cartrack@localhost"
    webhook_urls: str = ""
    webhook_secret: str = ""
    # Outbound alert deliveries (email, webhooks): per-send timeout, attempts, backoff.
    delivery_timeout_seconds: float = 5.0
    delivery_max_attempts: int = 5
    delivery_backoff_seconds: float = 2.0
    scheduler_batch_size: int = 500
    frontend_dir: str = ""
    log_format: str = Field("text", description="text | json (one JSON object per line)")
    log_level: str = "INFO"
    # Standby schedulers try to take the leader's lock this often (seconds).
    scheduler_leader_retry_seconds: float = 2.0
    # Idempotency keys are remembered this long (hours); a repeat after that is a new request.
    idempotency_hours: int = 24
    show_patient_name_on_label: bool = True
    # FHIR: the identifier system of the COI (until ICCBBA publishes a URI for it).
    fhir_coi_system: str = "urn:cartrack:coi"

    @field_validator("environment", mode="before")
    @classmethod
    def _known_environment(cls, value: Any) -> Any:
        return _member(Environment, "CARTRACK_ENVIRONMENT", value)

    @field_validator("password_hash_profile", mode="before")
    @classmethod
    def _known_profile(cls, value: Any) -> Any:
        return _member(HashProfile, "CARTRACK_PASSWORD_HASH_PROFILE", value)

    @model_validator(mode="after")
    def _refuse_weak_production(self) -> Settings:
        if self.is_production:
            problems = production_problems(self)
            if problems:
                raise ValueError("refusing to run in production: " + "; ".join(problems))
        return self

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.production

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def production_problems(settings: Settings) -> list[str]:
    """Everything that makes labels forgeable or passwords cheap to guess in production."""
    problems = []
    if settings.secret_key == DEFAULT_SECRET:
        problems.append("CARTRACK_SECRET_KEY is left at its public development default; "
                        "set a secret of your own")
    elif len(settings.secret_key.encode()) < MIN_SECRET_BYTES:
        problems.append(f"CARTRACK_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes")
    for setting, text in (("CARTRACK_LABEL_KEYS", settings.label_keys),
                          ("CARTRACK_RETIRED_LABEL_KEYS", settings.retired_label_keys)):
        problems += [_label_key_problem(setting, kid, secret) for kid, secret in _key_secrets(text)]
    if settings.password_hash_profile is not HashProfile.standard:
        problems.append("CARTRACK_PASSWORD_HASH_PROFILE=fast is for test suites only")
    return [p for p in problems if p]


def _label_key_problem(setting: str, kid: str, secret: str) -> str:
    if secret in _DEV_LABEL_KEY_SPELLINGS:
        return f"{setting}: key {kid} is the development label key"
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return f"{setting}: key {kid} must be at least {MIN_SECRET_BYTES} bytes"
    return ""


def _key_secrets(text: str) -> list[tuple[str, str]]:
    """The (kid, secret) pairs that carry a secret; labels.payload validates the syntax."""
    pairs = (entry.strip().partition(":") for entry in text.split(",") if entry.strip())
    return [(kid.strip().upper(), secret.strip()) for kid, _, secret in pairs if secret.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
