"""Logger data into a shipment: JSON ``[{at, temp_c}]`` or a logger's CSV export, read as it
streams in (never the whole file at once), written in batches inside the request's
transaction. A malformed line refuses the whole import (422 with its line number) and the
transaction rolls back, so nothing is inserted. Readings are deduplicated on logger and time;
rows of another logger are rejected and counted.

CSV forms: ``logger_serial,timestamp,temp_c`` (ISO 8601 timestamps; without an offset they are
read in ``tz``), or ``Date,Time,Temperature(°C)`` with the ``tz`` query parameter."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import insert
from sqlmodel import Session, select

from cartrack import clock
from cartrack.errors import Invalid
from cartrack.shipments.models import Shipment, TemperatureReading

BATCH = 5000
Row = tuple[str | None, datetime, float]  # logger serial (None: the shipment's), UTC time, °C
MIN_C, MAX_C = -273.0, 100.0


class ReadingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime
    temp_c: Annotated[float, Field(ge=MIN_C, le=MAX_C)]


@dataclass
class Counts:
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0


def _malformed(line: int, why: str) -> Invalid:
    return Invalid(f"Line {line}: {why}; nothing was imported.", code="malformed_readings",
                   context={"line": line})


def zone(tz: str | None) -> ZoneInfo | None:
    if tz is None:
        return None
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"Unknown time zone {tz!r}.", code="invalid_time_zone") from None


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    pending = ""
    try:
        for chunk in chunks:
            pending += decoder.decode(chunk)
            *whole, pending = pending.split("\n")
            yield from whole
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise Invalid("The file is not UTF-8 text; nothing was imported.",
                      code="malformed_readings") from None
    if pending:
        yield pending


def _header_key(cell: str) -> str:
    return "".join(cell.split()).lower().replace("°", "")


SERIAL_FORM = ("logger_serial", "timestamp", "temp_c")
SPLIT_FORM = ("date", "time", "temperature(c)")


def _when(line: int, text: str, tz: ZoneInfo | None) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise _malformed(line, f"{text!r} is not an ISO 8601 timestamp") from None
    if at.tzinfo is None:
        if tz is None:
            raise _malformed(line, f"{text!r} has no UTC offset; give the tz parameter")
        at = at.replace(tzinfo=tz)
    return clock.as_utc(at)


def _split_when(line: int, day: str, hour: str, tz: ZoneInfo) -> datetime:
    try:
        parsed = datetime.combine(date.fromisoformat(day.replace("/", "-")),
                                  time.fromisoformat(hour))
    except ValueError:
        raise _malformed(line, f"{day!r} {hour!r} is not a date (YYYY-MM-DD) and a time "
                               "(HH:MM[:SS])") from None
    return clock.as_utc(parsed.replace(tzinfo=tz))


def _temp(line: int, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _malformed(line, f"{text!r} is not a temperature") from None
    if not MIN_C <= value <= MAX_C:
        raise _malformed(line, f"{value} °C is outside {MIN_C:g}..{MAX_C:g} °C")
    return value


def csv_rows(chunks: Iterable[bytes], tz: ZoneInfo | None
             ) -> Iterator[Row]:
    """(logger serial or None, time in UTC, °C) per data line; blank lines are skipped."""
    form: tuple[str, ...] | None = None
    for number, text in enumerate(_lines(chunks), start=1):
        text = text.rstrip("\r")
        if not text.strip():
            continue
        if "\x00" in text:
            raise _malformed(number, "NUL character")
        cells = next(csv.reader([text]))
        if form is None:
            form = tuple(_header_key(c) for c in cells)
            if form not in (SERIAL_FORM, SPLIT_FORM):
                raise _malformed(number, "the header must be logger_serial,timestamp,temp_c or "
                                         "Date,Time,Temperature(°C)")
            if form == SPLIT_FORM and tz is None:
                raise Invalid("Date,Time,Temperature(°C) files need the tz parameter (the "
                              "logger's time zone).", code="time_zone_required")
            continue
        if len(cells) != 3:
            raise _malformed(number, f"expected 3 columns, found {len(cells)}")
        if form == SERIAL_FORM:
            serial = cells[0].strip()
            if not serial:
                raise _malformed(number, "the logger serial is empty")
            yield serial, _when(number, cells[1].strip(), tz), _temp(number, cells[2].strip())
        else:
            assert tz is not None
            yield None, _split_when(number, cells[0].strip(), cells[1].strip(), tz), \
                _temp(number, cells[2].strip())
    if form is None:
        raise _malformed(1, "the file is empty")


def json_rows(readings: list[ReadingIn]) -> Iterator[Row]:
    for r in readings:
        yield None, clock.as_utc(r.at), r.temp_c


def store(session: Session, shipment: Shipment, rows: Iterable[Row]) -> Counts:
    """Insert the rows of this shipment's logger not already stored; count the rest."""
    logger = shipment.logger_serial or ""
    seen = {clock.as_utc(at) for at in session.exec(
        select(TemperatureReading.at).where(TemperatureReading.shipment_id == shipment.id,
                                            TemperatureReading.logger_serial == logger)).all()}
    counts, batch = Counts(), list[dict[str, Any]]()
    for serial, at, temp in rows:
        if serial is not None and serial != logger:
            counts.rejected += 1
            continue
        if at in seen:
            counts.duplicates += 1
            continue
        seen.add(at)
        batch.append({"shipment_id": shipment.id, "logger_serial": logger, "at": at,
                      "temp_c": temp})
        if len(batch) >= BATCH:
            counts.inserted += _flush(session, batch)
    counts.inserted += _flush(session, batch)
    return counts


def _flush(session: Session, batch: list[dict[str, Any]]) -> int:
    if not batch:
        return 0
    session.execute(insert(TemperatureReading), batch)
    n = len(batch)
    batch.clear()
    return n
