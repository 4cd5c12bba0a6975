"""The calendar's refusals, each with its stable problem ``code``."""

from __future__ import annotations

from app.core.errors import InvalidField


class CalendarOutOfRange(InvalidField):
    """A date or instant outside the calendars the service holds (2020-2036), or a date
    range reversed or longer than one request may ask for."""

    code = "calendar_range"
