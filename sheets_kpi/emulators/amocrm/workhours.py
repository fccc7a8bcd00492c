"""Moscow office hours for the generated agency: Mon–Fri 9–13 and 14–19, no DST since 2014."""

from __future__ import annotations

MSK, DAY, HOUR = 3 * 3600, 86400, 3600


def weekday(day_start: int) -> int:
    return ((day_start + MSK) // DAY + 3) % 7


def after_work(at: int, seconds: float) -> int:
    """Spend `seconds` of working time (Mon–Fri 9–13 and 14–19 Moscow) from `at` on."""
    moment = opening(at)
    while True:
        local = (moment + MSK) % DAY
        room = (13 * HOUR if local < 13 * HOUR else 19 * HOUR) - local
        if seconds <= room:
            return moment + int(seconds)
        seconds -= room
        moment = opening(moment + room)


def opening(moment: int) -> int:
    """The first working instant at or after `moment`."""
    day = moment - (moment + MSK) % DAY
    local = moment - day
    if weekday(day) >= 5 or local >= 19 * HOUR:
        day += DAY
        while weekday(day) >= 5:
            day += DAY
        return day + 9 * HOUR
    if local < 9 * HOUR:
        return day + 9 * HOUR
    return day + 14 * HOUR if 13 * HOUR <= local < 14 * HOUR else moment
