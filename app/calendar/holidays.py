"""Indonesian national holidays and cuti bersama, from the ``holidays`` package."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date
from types import MappingProxyType

import holidays as _holidays


@functools.lru_cache(maxsize=32)
def indonesian_holidays(first_year: int, last_year: int) -> Mapping[date, str]:
    """Return national holidays and cuti bersama for the years, named in Indonesian."""
    if first_year > last_year:
        raise ValueError(f"first_year {first_year} is after last_year {last_year}")
    # Building the table costs ~100 ms, hence the cache; the result is shared between
    # calendars, so it is handed out read-only. Two holidays on one date come joined by "; ".
    table = _holidays.country_holidays(
        "ID",
        categories=("public", "government"),
        language="id",
        years=range(first_year, last_year + 1),
    )
    return MappingProxyType({day: str(name) for day, name in sorted(table.items())})
