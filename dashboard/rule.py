"""The scheduler's own EventBridge rule, as the schedules view's countdown tells it: a due run happens at
the rule's first firing at or after it. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flow_scheduler.schedule import Rate, Schedule, ScheduleError, next_after, parse

_JUST_BEFORE = timedelta(microseconds=1)


@dataclass(frozen=True)
class Rule:
    expression: str
    schedule: Schedule

    @property
    def fires(self) -> str:
        if isinstance(self.schedule, Rate):
            return f"every {int(self.schedule.interval.total_seconds() // 60)} min"
        return f"on {self.expression}, in UTC"

    def first_tick(self, moment: datetime | str | None) -> datetime | None:
        """When the rule fires at or after `moment`: for a rate (its phase is when the rule was created) the
        latest it can be; None where there is no such time (a moment past year 9999, a rule that ended)."""
        if not isinstance(moment, datetime):
            return None
        try:
            if isinstance(self.schedule, Rate):
                return moment + self.schedule.interval
            return next_after(self.schedule, "UTC", moment - _JUST_BEFORE, anchor=None)
        except (OverflowError, ValueError):
            return None


def rule(expression: str) -> Rule | None:
    """The rule `SCHEDULE_EXPRESSION` names, or None if the scheduler's parser refuses it."""
    try:
        return Rule(expression, parse(expression))
    except ScheduleError:
        return None
