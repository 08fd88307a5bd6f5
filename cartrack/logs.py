"""Logging for every cartrack process: plain text lines, or one JSON object per line when
CARTRACK_LOG_FORMAT=json (python-json-logger), each carrying the request id of the request
it belongs to. Uvicorn's own loggers get the same format, so a log shipper reads one shape."""

from __future__ import annotations

import logging
import logging.config
import re
from contextvars import ContextVar
from typing import Any

from cartrack.settings import get_settings

request_id_var: ContextVar[str] = ContextVar("cartrack_request_id", default="-")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = ["asctime", "levelname", "name", "request_id", "message"]


class RequestIdFilter(logging.Filter):
    """Adds the current request's id (or '-') to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


# A calendar feed's URL carries its token (the credential): the access log shows it hidden.
_FEED_TOKEN = re.compile(r"(/api/calendar/feed/)[^/?\s.]+(\.ics)")


class _RedactFeedToken(logging.Filter):
    """Hides the token of a calendar feed's URL in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _FEED_TOKEN.sub(r"\1***\2", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_FEED_TOKEN.sub(r"\1***\2", a) if isinstance(a, str) else a
                                for a in record.args)
        return True


class _DropColorMessage(logging.Filter):
    """Uvicorn attaches an ANSI-coloured copy of each message; JSON lines do not want it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)
        return True


def logging_config(fmt: str | None = None, level: str | None = None) -> dict[str, Any]:
    settings = get_settings()
    fmt = (fmt or settings.log_format).lower()
    level = (level or settings.log_level).upper()
    if fmt == "json":
        formatter: dict[str, Any] = {
            "()": "pythonjsonlogger.json.JsonFormatter", "fmt": JSON_FIELDS,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "datefmt": "%Y-%m-%dT%H:%M:%S%z"}
    else:
        formatter = {"format": TEXT_FORMAT}
    # Only these are named: dictConfig resets the levels of the children of named loggers,
    # and the scheduler quiets APScheduler's per-tick lines on purpose (root takes warnings).
    loggers = {name: {"handlers": ["default"], "level": level, "propagate": False}
               for name in ("cartrack", "uvicorn", "uvicorn.error", "uvicorn.access", "alembic")}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}, "no_color": {"()": _DropColorMessage},
                    "feed_token": {"()": _RedactFeedToken}},
        "formatters": {"default": formatter},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "default",
                                 "filters": ["request_id", "no_color", "feed_token"],
                                 "stream": "ext://sys.stderr"}},
        "loggers": loggers,
        "root": {"handlers": ["default"], "level": "WARNING"},
    }


def configure(fmt: str | None = None, level: str | None = None) -> dict[str, Any]:
    """Apply the configuration to this process; returns it (uvicorn takes it as log_config)."""
    config = logging_config(fmt, level)
    logging.config.dictConfig(config)
    return config
