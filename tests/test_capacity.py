"""The web tier's host counts follow from the capacity assumptions."""

from __future__ import annotations

import dataclasses
import math

import pytest

from config.capacity import PRODUCTION, Assumptions, web_capacity


def test_a_billion_messages_a_week_is_about_1650_a_second():
    counts = web_capacity()

    assert counts.average_per_second == pytest.approx(1653.4, abs=0.1)
    assert counts.peak_per_second == pytest.approx(
        counts.average_per_second * PRODUCTION.peak_factor
    )


def test_production_counts_follow_from_the_assumptions():
    a = PRODUCTION
    zones = a.availability_zones
    usable = a.host_messages_per_second * a.target_utilisation
    average = a.messages_per_week / (7 * 24 * 3600)
    peak_hosts = math.ceil(average * a.peak_factor / usable)
    desired = math.ceil(peak_hosts / zones) * zones
    # The average load must fit in the zones left after one fails.
    minimum = math.ceil(math.ceil(average / usable) / (zones - 1)) * zones
    maximum = math.ceil(math.ceil(desired * (1 + a.burst_headroom)) / zones) * zones

    counts = web_capacity()

    assert (counts.min, counts.desired, counts.max) == (minimum, desired, maximum)


def test_every_count_is_spread_evenly_over_the_zones():
    counts = web_capacity()

    for value in (counts.min, counts.desired, counts.max):
        assert value % PRODUCTION.availability_zones == 0


def test_min_desired_max_are_ordered_even_without_peaks_or_headroom():
    flat = dataclasses.replace(PRODUCTION, peak_factor=1.0, burst_headroom=0.0)

    counts = web_capacity(flat)

    assert counts.min <= counts.desired <= counts.max


def test_more_messages_never_need_fewer_hosts():
    previous = None
    for weekly in (10**6, 10**8, 10**9, 3 * 10**9, 10**10):
        counts = web_capacity(dataclasses.replace(PRODUCTION, messages_per_week=weekly))
        current = (counts.min, counts.desired, counts.max)
        if previous is not None:
            assert all(
                now >= before for now, before in zip(current, previous, strict=True)
            )
        previous = current


def test_faster_hosts_never_need_more_hosts():
    previous = None
    for rate in (100.0, 200.0, 400.0, 800.0, 1600.0):
        counts = web_capacity(
            dataclasses.replace(PRODUCTION, host_messages_per_second=rate)
        )
        current = (counts.min, counts.desired, counts.max)
        if previous is not None:
            assert all(
                now <= before for now, before in zip(current, previous, strict=True)
            )
        previous = current


def test_a_single_zone_reserves_nothing_for_zone_failure():
    one_zone = dataclasses.replace(PRODUCTION, availability_zones=1)
    usable = PRODUCTION.host_messages_per_second * PRODUCTION.target_utilisation

    counts = web_capacity(one_zone)

    assert counts.min == math.ceil(counts.average_per_second / usable)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("messages_per_week", 0),
        ("peak_factor", 0.5),
        ("host_messages_per_second", 0),
        ("target_utilisation", 0),
        ("target_utilisation", 1.5),
        ("burst_headroom", -0.1),
        ("availability_zones", 0),
    ],
)
def test_an_impossible_assumption_is_refused_by_name(name, value):
    with pytest.raises(ValueError, match=name):
        Assumptions(**{name: value})
