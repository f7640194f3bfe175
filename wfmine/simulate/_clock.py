"""Timestamps: working hours in each person's time zone; any time for automation."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from wfmine.simulate._org import Actor
from wfmine.simulate._util import zone


class Clock:
    """Timestamps: working hours in each person's time zone; any time for automation."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def snap(self, t: datetime, a: Actor) -> datetime:
        if a.kind != "human" or a.extra.get("shadow"):
            return t
        tz = zone(a.tz)
        loc = t.astimezone(tz)
        for _ in range(14):
            hour = loc.hour + loc.minute / 60
            if loc.weekday() >= 5:
                nxt = (loc + timedelta(days=7 - loc.weekday())).replace(
                    hour=0, minute=0, second=0, microsecond=0
                )
                loc = nxt + timedelta(
                    hours=a.start_hour,
                    minutes=self.rng.uniform(0, 55),
                    seconds=self.rng.uniform(0, 59),
                )
                continue
            if hour < a.start_hour:
                loc = loc.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
                    hours=a.start_hour,
                    minutes=self.rng.uniform(0, 50),
                    seconds=self.rng.uniform(0, 59),
                )
                continue
            if hour >= a.end_hour:
                if hour < a.end_hour + 2.5 and self.rng.random() < 0.12:
                    break  # some evening work
                nxt = (loc + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
                loc = nxt + timedelta(
                    hours=a.start_hour,
                    minutes=self.rng.uniform(0, 55),
                    seconds=self.rng.uniform(0, 59),
                )
                continue
            break
        return loc.astimezone(UTC).replace(microsecond=0)

    def human(self, t: datetime, a: Actor, hours: float, spread: float = 0.6) -> datetime:
        """``a`` acts about ``hours`` working hours after ``t``."""
        d = self.rng.lognormvariate(math.log(max(hours, 0.01)), spread)
        # convert working hours to calendar time roughly: 9 working hours per day
        cal = d if d < 6 else d * 24 / 9
        return self.snap(t + timedelta(hours=cal), a)

    def bot(self, t: datetime, lo: float, hi: float) -> datetime:
        return (t + timedelta(seconds=self.rng.uniform(lo, hi))).replace(microsecond=0)
