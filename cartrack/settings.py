"""Settings, all from CARTRACK_* environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me-dev-secret-key-not-for-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARTRACK_", extra="ignore")

    environment: str = Field("development", description="development | test | production")
    database_url: str = "sqlite:///./cartrack.db"
    secret_key: str = DEFAULT_SECRET
    # Label signing keys: "kid:secret,kid:secret"; the first is used to sign new labels.
    label_keys: str = ""
    retired_label_keys: str = ""
    session_idle_minutes: int = 15
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    token_minutes: int = 60
    max_body_bytes: int = 1_000_000
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
    show_patient_name_on_label: bool = True
    # FHIR: the identifier system of the COI (until ICCBBA publishes a URI for it).
    fhir_coi_system: str = "urn:cartrack:coi"

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "CARTRACK_SECRET_KEY is left at its development default; "
                "set a secret of your own before running in production"
            )
        if self.environment == "production" and len(self.secret_key) < 32:
            raise ValueError("CARTRACK_SECRET_KEY must be at least 32 characters in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
