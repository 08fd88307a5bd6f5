"""COI and unit identifiers: ISO 7064 mod 37-2 check characters, shapes, the CLI."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from cartrack.db import new_session
from cartrack.identity.checkchar import ALPHABET, InvalidCharacterError, check_character
from cartrack.identity.identifiers import (
    IdentifierError,
    make_coi,
    make_din,
    make_unit_id,
    parse_coi,
    parse_unit_id,
    printed_coi,
    printed_unit,
)
from cartrack.identity.models import SequenceCounter
from cartrack.identity.service import allocate_coi
from tests.helpers.journey import Journey

CLI = [sys.executable, "-m", "cartrack.cli"]


def test_worked_example_from_the_uk_red_book() -> None:
    assert check_character("G123498654321") == "H"


def test_check_character_of_each_symbol_is_in_the_alphabet() -> None:
    for ch in ALPHABET:
        assert check_character("A9999" + ch) in ALPHABET


@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=5, max_size=20),
       st.integers(min_value=0), st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
@settings(max_examples=200, deadline=None)
def test_any_single_character_error_is_caught(body: str, pos: int, replacement: str) -> None:
    index = pos % len(body)
    if body[index] == replacement:
        return
    altered = body[:index] + replacement + body[index + 1:]
    assert check_character(altered) != check_character(body)


def test_characters_outside_the_alphabet_are_refused() -> None:
    with pytest.raises(InvalidCharacterError):
        check_character("A99-99")


def test_coi_shape_and_round_trip() -> None:
    coi = make_coi("A9999", 2026, 37)
    assert coi == "CHA999926000011"
    printed = printed_coi(coi)
    assert parse_coi(printed.text) == coi
    assert parse_coi(printed.value + printed.check) == coi


def test_coi_with_wrong_check_character_is_refused() -> None:
    coi = make_coi("A9999", 2026, 5)
    good = printed_coi(coi).check
    wrong = next(c for c in ALPHABET if c != good)
    with pytest.raises(IdentifierError, match="check character"):
        parse_coi(coi + wrong)


def test_unit_id_is_din_plus_container_and_k_is_over_the_din() -> None:
    din = make_din("A9999", 2026, 12)
    unit = make_unit_id(din, 1)
    assert len(din) == 13 and len(unit) == 15 and unit.endswith("01")
    printed = printed_unit(unit)
    assert printed.check == check_character(din)
    assert parse_unit_id(unit + printed.check) == unit
    assert parse_unit_id(din + printed.check + "01") == unit  # ISBT print order: DIN K CC
    with pytest.raises(IdentifierError):
        parse_unit_id(unit + next(c for c in ALPHABET if c != printed.check))


def test_cli_check_char_prints_the_character() -> None:
    out = subprocess.run([*CLI, "id", "check-char", "G123498654321"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "H"


def test_cli_check_char_refuses_bad_characters_with_exit_2() -> None:
    out = subprocess.run([*CLI, "id", "check-char", "G12-3"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "not allowed" in out.stderr


@pytest.mark.parametrize("valid", [True, False])
def test_cli_validate(valid: bool) -> None:
    coi = make_coi("A9999", 2026, 99)
    k = printed_coi(coi).check
    text = f"{coi} {k if valid else next(c for c in ALPHABET if c != k)}"
    out = subprocess.run([*CLI, "id", "validate", text], capture_output=True, text=True)
    assert out.returncode == (0 if valid else 1), out.stdout + out.stderr


def test_sequences_have_no_gaps_or_duplicates_under_concurrency(db_url: str) -> None:

    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            for _ in range(15):
                with new_session() as s:
                    coi = allocate_coi(s, "A9999")
                    s.commit()
                with lock:
                    results.append(coi)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    sequences = sorted(int(c[9:], 36) for c in results)
    assert sequences == list(range(1, 61))


def test_rolled_back_allocation_leaves_no_gap(db_url: str) -> None:

    with new_session() as s:
        first = allocate_coi(s, "A9999")
        s.rollback()
    with new_session() as s:
        again = allocate_coi(s, "A9999")
        s.commit()
        assert s.exec(select(SequenceCounter)).first() is not None
    assert first == again


def test_case_search_refuses_a_typed_coi_with_a_wrong_check_character(
        client: Any, auth: Any) -> None:

    case = Journey(client, auth).enroll()
    k = case["coi_check"]
    good = client.get("/api/cases", params={"q": case["coi"] + k}, headers=auth["coordinator"])
    assert [c["id"] for c in good.json()["items"]] == [case["id"]]
    wrong = next(c for c in ALPHABET if c != k)
    bad = client.get("/api/cases", params={"q": case["coi"] + wrong}, headers=auth["coordinator"])
    assert bad.status_code == 422
    assert "check character" in bad.json()["detail"]
