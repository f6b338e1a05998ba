"""Dates, times and time zones (IANA zones through ``zoneinfo``).

Nothing here reads the clock: every tool takes the dates it works on as arguments, so a
call gives the same answer on any machine and any day.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta, timezone

from lamstudio.tools._decorator import tool
from lamstudio.tools.builtin._common import parse_date, parse_datetime, zone

CATEGORY = "datetime"


@tool
def convert_timezone(datetime_str: str, from_timezone: str, to_timezone: str) -> dict:
    """Convert a local date-time from one time zone to another (daylight saving aware).

    Args:
        datetime_str: Local date-time in ISO format, e.g. "2024-03-10T09:30".
        from_timezone: IANA zone of the input, e.g. "America/New_York".
        to_timezone: IANA zone to convert to, e.g. "Asia/Tokyo".
    """
    moment = parse_datetime(datetime_str, "datetime_str")
    src, dst = zone(from_timezone, "from_timezone"), zone(to_timezone, "to_timezone")
    local = moment.replace(tzinfo=src) if moment.tzinfo is None else moment.astimezone(src)
    converted = local.astimezone(dst)
    return {"input": local.isoformat(), "result": converted.isoformat(),
            "utc_offset_hours": converted.utcoffset().total_seconds() / 3600}


@tool
def days_between(start_date: str, end_date: str) -> dict:
    """Number of days from one date to another (negative if end is before start).

    Args:
        start_date: ISO date, e.g. "2024-01-15".
        end_date: ISO date, e.g. "2024-03-01".
    """
    start, end = parse_date(start_date, "start_date"), parse_date(end_date, "end_date")
    days = (end - start).days
    return {"start_date": start.isoformat(), "end_date": end.isoformat(), "days": days,
            "weeks": round(days / 7, 2)}


@tool
def add_to_date(date_str: str, days: int = 0, weeks: int = 0, months: int = 0,
                years: int = 0) -> dict:
    """Add (or, with negative numbers, subtract) days, weeks, months and years to a date.
    Month arithmetic clamps to the month's last day (Jan 31 + 1 month = Feb 28/29).

    Args:
        date_str: ISO date, e.g. "2024-01-31".
        days: Days to add.
        weeks: Weeks to add.
        months: Months to add.
        years: Years to add.
    """
    start = parse_date(date_str, "date_str")
    total_months = start.month - 1 + months + 12 * years
    year, month = start.year + total_months // 12, total_months % 12 + 1
    if not 1 <= year <= 9999:
        raise ValueError("the result falls outside years 1 to 9999")
    day = min(start.day, calendar.monthrange(year, month)[1])
    try:
        result = date(year, month, day) + timedelta(days=days, weeks=weeks)
    except OverflowError:
        raise ValueError("the result falls outside years 1 to 9999") from None
    return {"date": start.isoformat(), "result": result.isoformat(),
            "weekday": result.strftime("%A")}


@tool
def day_of_week(date_str: str) -> dict:
    """The weekday of a date.

    Args:
        date_str: ISO date, e.g. "2024-07-04".
    """
    day = parse_date(date_str, "date_str")
    return {"date": day.isoformat(), "weekday": day.strftime("%A"),
            "iso_weekday": day.isoweekday()}


@tool
def business_days_between(start_date: str, end_date: str,
                          holidays: list[str] | None = None) -> dict:
    """Count working days (Monday to Friday) from start_date up to but not including
    end_date, skipping the given holidays.

    Args:
        start_date: ISO date where counting starts (included).
        end_date: ISO date where counting stops (excluded); not before start_date.
        holidays: ISO dates that are not working days.
    """
    start, end = parse_date(start_date, "start_date"), parse_date(end_date, "end_date")
    if end < start:
        raise ValueError("end_date must not be before start_date")
    if (end - start).days > 366 * 50:
        raise ValueError("the range must be at most 50 years")
    off = {parse_date(h, "holidays") for h in holidays or []}
    count = sum(1 for i in range((end - start).days)
                if (d := start + timedelta(days=i)).weekday() < 5 and d not in off)
    return {"start_date": start.isoformat(), "end_date": end.isoformat(),
            "business_days": count}


@tool
def is_leap_year(year: int) -> dict:
    """Whether a year of the Gregorian calendar is a leap year.

    Args:
        year: The year, e.g. 2024.
    """
    if not 1 <= year <= 9999:
        raise ValueError(f"year must be between 1 and 9999, got {year}")
    return {"year": year, "is_leap_year": calendar.isleap(year),
            "days": 366 if calendar.isleap(year) else 365}


@tool
def days_in_month(year: int, month: int) -> dict:
    """Number of days in a month, and the weekday it starts on.

    Args:
        year: The year, e.g. 2025.
        month: Month number 1 to 12.
    """
    if not 1 <= year <= 9999 or not 1 <= month <= 12:
        raise ValueError(f"need 1 <= year <= 9999 and 1 <= month <= 12, got {year}-{month}")
    first, days = calendar.monthrange(year, month)
    return {"year": year, "month": month, "days": days,
            "first_weekday": calendar.day_name[first]}


@tool
def calculate_age(birth_date: str, on_date: str) -> dict:
    """Age in whole years (and the days since the last birthday) on a given date. A
    29 February birthday falls on 28 February in other years.

    Args:
        birth_date: ISO date of birth, e.g. "1990-05-17".
        on_date: ISO date to measure the age on (not before birth_date).
    """
    born, today = parse_date(birth_date, "birth_date"), parse_date(on_date, "on_date")
    if today < born:
        raise ValueError("on_date must not be before birth_date")
    years = today.year - born.year - (today < _anniversary(born, today.year))
    last = _anniversary(born, born.year + years)
    return {"years": years, "days_since_birthday": (today - last).days}


def _anniversary(born: date, year: int) -> date:
    day = min(born.day, calendar.monthrange(year, born.month)[1])  # Feb 29 -> Feb 28
    return date(year, born.month, day)


@tool
def unix_to_datetime(timestamp: float, timezone_name: str = "UTC") -> dict:
    """Convert a Unix timestamp (seconds since 1970-01-01 UTC) to a local date-time.

    Args:
        timestamp: Seconds since the epoch, e.g. 1700000000.
        timezone_name: IANA zone for the result, e.g. "Europe/Berlin".
    """
    tz = zone(timezone_name, "timezone_name")
    try:
        moment = datetime.fromtimestamp(timestamp, tz=timezone.utc).astimezone(tz)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"timestamp {timestamp!r} is out of range") from None
    return {"timestamp": timestamp, "datetime": moment.isoformat(),
            "weekday": moment.strftime("%A")}


@tool
def datetime_to_unix(datetime_str: str, timezone_name: str = "UTC") -> dict:
    """Convert a local date-time to a Unix timestamp.

    Args:
        datetime_str: ISO date-time, e.g. "2024-01-01T00:00"; an explicit offset wins.
        timezone_name: IANA zone the date-time is in when it has no offset.
    """
    moment = parse_datetime(datetime_str, "datetime_str")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(timezone_name, "timezone_name"))
    stamp = moment.timestamp()
    return {"datetime": moment.isoformat(), "timestamp": int(stamp) if stamp.is_integer()
            else stamp}


@tool
def get_week_number(date_str: str) -> dict:
    """ISO 8601 week number and week-based year of a date.

    Args:
        date_str: ISO date, e.g. "2024-12-30".
    """
    iso = parse_date(date_str, "date_str").isocalendar()
    return {"date": date_str, "iso_year": iso[0], "week": iso[1], "weekday": iso[2]}
