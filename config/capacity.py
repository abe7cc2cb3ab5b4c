"""How many web hosts production needs, derived from named assumptions.

The arithmetic, with the production assumptions below:

1. Average load: 1,000,000,000 messages a week / 604,800 s a week ~= 1,653 /s.
2. Peak load: the average times `peak_factor` (traffic crowds into working
   hours, so the busiest hour runs several times the weekly average):
   1,653 * 3 ~= 4,960 /s.
3. Usable throughput of one host: what it sustains (`host_messages_per_second`)
   times `target_utilisation`, the share we let it run at so latency stays
   flat: 400 * 0.7 = 280 /s.
4. desired = peak / usable, rounded up to whole hosts and then to a multiple of
   the zone count so every zone holds the same number: 4,960 / 280 -> 18.
5. min = the average load carried by the zones left after one zone fails, spread
   back over all zones: 1,653 / 280 -> 6 hosts in 2 zones -> 3 a zone -> 9.
6. max = desired plus `burst_headroom` for spikes and growth before anyone edits
   the config: 18 * 1.5 = 27.

`desired` never falls below `min`, and `max` never below `desired`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SECONDS_PER_WEEK = 7 * 24 * 60 * 60


@dataclass(frozen=True)
class Assumptions:
    """The inputs of the model; change one and every count follows."""

    messages_per_week: int = 1_000_000_000
    peak_factor: float = 3.0
    # One i2.xlarge web host, to be replaced by the figure a load test measures.
    host_messages_per_second: float = 400.0
    target_utilisation: float = 0.7
    burst_headroom: float = 0.5
    availability_zones: int = 3

    def __post_init__(self) -> None:
        checks = {
            "messages_per_week": (self.messages_per_week > 0, "> 0"),
            "peak_factor": (self.peak_factor >= 1, ">= 1"),
            "host_messages_per_second": (self.host_messages_per_second > 0, "> 0"),
            "target_utilisation": (0 < self.target_utilisation <= 1, "in (0, 1]"),
            "burst_headroom": (self.burst_headroom >= 0, ">= 0"),
            "availability_zones": (self.availability_zones >= 1, ">= 1"),
        }
        for name, (ok, allowed) in checks.items():
            if not ok:
                value = getattr(self, name)
                raise ValueError(
                    f"capacity assumption {name} = {value!r}: must be {allowed}"
                )


@dataclass(frozen=True)
class HostCounts:
    """Auto Scaling bounds of a fleet, each a multiple of the zone count."""

    min: int
    desired: int
    max: int
    average_per_second: float
    peak_per_second: float


PRODUCTION = Assumptions()


def web_capacity(assumptions: Assumptions = PRODUCTION) -> HostCounts:
    """Min, desired and max web hosts for the given assumptions."""
    a = assumptions
    zones = a.availability_zones
    average = a.messages_per_week / SECONDS_PER_WEEK
    peak = average * a.peak_factor
    usable = a.host_messages_per_second * a.target_utilisation
    # With one zone there is nothing to fail over to, so nothing to reserve.
    surviving_zones = max(zones - 1, 1)

    per_surviving_zone = math.ceil(math.ceil(average / usable) / surviving_zones)
    minimum = per_surviving_zone * zones
    desired = max(_whole_zones(peak / usable, zones), minimum)
    maximum = _whole_zones(desired * (1 + a.burst_headroom), zones)
    return HostCounts(minimum, desired, maximum, average, peak)


def _whole_zones(hosts: float, zones: int) -> int:
    return math.ceil(math.ceil(hosts) / zones) * zones
