"""The excursion engine against hand-computed vectors (next-capabilities §2b acceptance checks
1-5), and properties that hold for any readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartrack.shipments.excursions import (
    AlarmKind,
    Reading,
    Rule,
    Side,
    analyse,
    mean_kinetic_temperature,
)

T0 = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)


def series(temps: list[float], every: int = 5, start: datetime = T0) -> list[Reading]:
    return [Reading(start + timedelta(minutes=every * i), t) for i, t in enumerate(temps)]


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


LN2_HIGH = -150.0


def test_consecutive_run_of_fifteen_minutes_is_one_excursion_with_its_extreme() -> None:
    # 00:00..00:45 at -180, then -148, -147, -146 at 00:50, 00:55, 01:00, back to -180 at 01:05
    temps = [-180.0] * 10 + [-148.0, -147.0, -146.0] + [-180.0] * 4
    rule = Rule(AlarmKind.consecutive, Side.high, LN2_HIGH, 10)
    result = analyse(series(temps), [rule], 5, with_mkt=False)
    assert len(result.excursions) == 1
    exc = result.excursions[0]
    assert (exc.started_at, exc.ended_at) == (at(50), at(65))
    assert exc.duration_minutes == 15
    assert exc.extreme_c == -146.0
    assert exc.triggered_at == at(60)  # ten minutes past the limit at 01:00
    assert result.gaps == []


def test_a_run_shorter_than_the_delay_is_not_a_consecutive_excursion() -> None:
    temps = [-180.0] * 4 + [-149.0] + [-180.0] * 4  # 5 minutes past the limit
    rule = Rule(AlarmKind.consecutive, Side.high, LN2_HIGH, 10)
    assert analyse(series(temps), [rule], 5, with_mkt=False).excursions == []


def test_instant_rule_counts_each_separate_run() -> None:
    one = [-180.0] * 10 + [-148.0, -147.0, -146.0] + [-180.0] * 4
    rule = Rule(AlarmKind.instant, Side.high, LN2_HIGH)
    assert len(analyse(series(one), [rule], 5, with_mkt=False).excursions) == 1
    two = one + [-140.0] + [-180.0] * 2  # a second run: one point at 01:25
    found = analyse(series(two), [rule], 5, with_mkt=False).excursions
    assert len(found) == 2
    second = found[1]
    assert (second.started_at, second.ended_at, second.duration_minutes) == (at(85), at(90), 5)
    assert second.extreme_c == -140.0


def test_a_reading_at_the_threshold_is_inside_the_limit() -> None:
    rule = Rule(AlarmKind.instant, Side.high, 8.0)
    assert analyse(series([5.0, 8.0, 7.0]), [rule], 5, with_mkt=True).excursions == []


def test_accumulative_total_crosses_its_limit_on_the_third_run() -> None:
    # 2-8 °C, > 8 °C accumulative 60 min, 5-min interval: three separate 25-min runs
    warm, cool = [9.0, 9.5, 10.0, 9.5, 9.0], [5.0] * 6
    temps = cool + warm + cool + warm + cool + [9.0, 9.0, 11.0, 9.0, 9.0] + cool
    rule = Rule(AlarmKind.accumulative, Side.high, 8.0, 60)
    found = analyse(series(temps), [rule], 5, with_mkt=True).excursions
    assert len(found) == 1
    exc = found[0]
    assert exc.events == 3
    assert exc.duration_minutes == 75
    assert exc.extreme_c == 11.0
    # runs 00:30-00:55, 01:25-01:50, 02:20-02:45 (five readings of 5 minutes each)
    assert exc.started_at == at(30)
    assert exc.ended_at == at(165)
    # 25 + 25 = 50 minutes after two runs; the third run's second reading brings it to 60
    assert exc.triggered_at == at(150)


def test_accumulative_total_under_its_limit_is_no_excursion() -> None:
    temps = [5.0] * 6 + [9.0] * 5 + [5.0] * 6 + [9.0] * 5 + [5.0] * 3
    rule = Rule(AlarmKind.accumulative, Side.high, 8.0, 60)
    assert analyse(series(temps), [rule], 5, with_mkt=True).excursions == []


def test_low_side_rule_finds_a_cold_run() -> None:
    rule = Rule(AlarmKind.consecutive, Side.low, 2.0, 15)
    temps = [5.0, 1.5, 1.0, 0.5, 5.0]
    found = analyse(series(temps), [rule], 5, with_mkt=True).excursions
    assert [(f.started_at, f.ended_at, f.duration_minutes, f.extreme_c) for f in found] == [
        (at(5), at(20), 15, 0.5)]


@pytest.mark.parametrize(("temps", "expected"), [
    ([5.0], 5.000), ([2.0, 8.0], 5.536), ([4.0, 4.0, 4.0, 12.0], 6.818),
    ([25.0, 25.0, 25.0, 15.0, 15.0, 15.0], 21.300)])
def test_mean_kinetic_temperature_vectors(temps: list[float], expected: float) -> None:
    assert mean_kinetic_temperature(temps) == pytest.approx(expected, abs=0.001)


def test_summary_has_min_max_with_times_mean_mkt_points_and_trip_length() -> None:
    summary = analyse(series([4.0, 4.0, 12.0, 4.0], every=15), [], 15, with_mkt=True).summary
    assert (summary.min_c, summary.min_at) == (4.0, at(0))
    assert (summary.max_c, summary.max_at) == (12.0, at(30))
    assert summary.mean_c == 6.0
    assert summary.mkt_c == pytest.approx(6.818, abs=0.001)
    assert summary.points == 4
    assert summary.trip_minutes == 45


def test_no_mkt_for_a_cryogenic_profile_and_an_empty_summary_without_readings() -> None:
    assert analyse(series([-180.0, -170.0]), [], 5, with_mkt=False).summary.mkt_c is None
    empty = analyse([], [Rule(AlarmKind.instant, Side.high, 8.0)], 5, with_mkt=True)
    assert empty.summary.points == 0 and empty.excursions == [] and empty.gaps == []


def test_a_gap_longer_than_twice_the_interval_is_a_finding_not_an_excursion() -> None:
    readings = [Reading(at(0), 5.0), Reading(at(15), 5.0), Reading(at(60), 5.0)]
    result = analyse(readings, [Rule(AlarmKind.instant, Side.high, 8.0)], 15, with_mkt=True)
    assert [(g.started_at, g.ended_at, g.minutes) for g in result.gaps] == [(at(15), at(60), 45)]
    assert result.excursions == []


def test_a_gap_of_exactly_twice_the_interval_is_no_finding() -> None:
    readings = [Reading(at(0), 5.0), Reading(at(30), 5.0)]
    assert analyse(readings, [], 15, with_mkt=True).gaps == []


def test_a_gap_ends_a_run_and_its_time_is_not_counted_past_the_limit() -> None:
    readings = [Reading(at(0), 9.0), Reading(at(5), 9.0), Reading(at(60), 9.0)]
    found = analyse(readings, [Rule(AlarmKind.instant, Side.high, 8.0)], 5,
                    with_mkt=True).excursions
    assert [(f.started_at, f.duration_minutes) for f in found] == [(at(0), 10), (at(60), 5)]


def test_unsorted_readings_are_sorted_first() -> None:
    readings = series([5.0, 9.0, 5.0])
    rule = Rule(AlarmKind.instant, Side.high, 8.0)
    assert analyse(readings[::-1], [rule], 5, with_mkt=True) == analyse(readings, [rule], 5,
                                                                         with_mkt=True)


temps = st.lists(st.floats(min_value=-5, max_value=20, allow_nan=False), max_size=60)


@given(temps, st.integers(min_value=0, max_value=90))
@settings(max_examples=150, deadline=None)
def test_properties_of_the_three_alarm_kinds(values: list[float], delay: int) -> None:
    readings = series(values)
    instant = analyse(readings, [Rule(AlarmKind.instant, Side.high, 8.0)], 5, with_mkt=True)
    consecutive = analyse(readings, [Rule(AlarmKind.consecutive, Side.high, 8.0, delay)], 5,
                          with_mkt=True).excursions
    accumulative = analyse(readings, [Rule(AlarmKind.accumulative, Side.high, 8.0, delay)], 5,
                           with_mkt=True).excursions
    total = sum(f.duration_minutes for f in instant.excursions)
    # every point past the limit counts one interval
    assert total == 5 * sum(1 for v in values if v > 8.0)
    # a consecutive excursion is an instant one that lasted long enough
    assert [(f.started_at, f.ended_at) for f in consecutive] == [
        (f.started_at, f.ended_at) for f in instant.excursions if f.duration_minutes >= delay]
    # the accumulative alarm fires exactly when the total reaches the delay
    assert len(accumulative) == (1 if instant.excursions and total >= delay else 0)
    if accumulative:
        assert accumulative[0].events == len(instant.excursions)
    summary = instant.summary
    if values:
        assert summary.min_c is not None and summary.max_c is not None
        assert summary.mean_c is not None and summary.mkt_c is not None
        assert summary.min_c - 1e-3 <= summary.mean_c <= summary.max_c + 1e-3
        assert summary.mean_c - 1e-3 <= summary.mkt_c <= summary.max_c + 1e-3
