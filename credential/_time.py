"""Time, written one way: Beijing's calendar, UTC instants, RFC 3339 text.

An office dates its certificates in China Standard Time (UTC+8, no daylight saving); the
database and every signed or published timestamp speak UTC. SQLite keeps a datetime
without its zone, so a value read back may be naive: it was written as UTC.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["BEIJING", "as_utc", "beijing_date", "beijing_text", "date_text", "rfc3339"]

# China Standard Time: the calendar a certification date, a restriction's decision date
# and the holder's daily copy limit are counted in.
BEIJING = dt.timezone(dt.timedelta(hours=8), "CST")


def as_utc(at: dt.datetime) -> dt.datetime:
    """Return ``at`` as an aware UTC datetime; a naive ``at`` is taken to be UTC already."""
    if at.tzinfo is None:
        return at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC)


def beijing_date(now: dt.datetime) -> dt.date:
    """Return the date in Beijing at the instant ``now`` (naive: UTC).

    A certification dated today is valid from 00:00 Beijing time, which is still yesterday
    in UTC until 08:00.
    """
    return as_utc(now).astimezone(BEIJING).date()


def rfc3339(at: dt.datetime, *, microseconds: bool = False) -> str:
    """Return ``at`` (naive: UTC) as RFC 3339 UTC text, ``2026-06-05T01:02:03Z``.

    With ``microseconds`` the fraction is always six digits (``...03.000000Z``): the audit
    chain and the event feed hash and order these strings, so their width never varies.
    """
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if microseconds else "%Y-%m-%dT%H:%M:%SZ"
    return as_utc(at).strftime(fmt)


_MONTHS_EN = (
    "January February March April May June July August September October November December"
).split()


def date_text(d: dt.date, lang: str = "zh") -> str:
    """Return the calendar date ``d`` as every page, message and the PDF print it:
    ``2026年6月5日`` for ``lang`` ``zh``, else ``5 June 2026`` (never ``2026-06-05``)."""
    if lang == "zh":
        return f"{d.year}年{d.month}月{d.day}日"
    return f"{d.day} {_MONTHS_EN[d.month - 1]} {d.year}"


def beijing_text(at: dt.datetime, lang: str = "zh") -> str:
    """Return the instant ``at`` (naive: UTC) as people read it in Beijing time, the zone
    named: ``2026年6月5日 09:02 北京时间`` for ``lang`` ``zh``, else
    ``5 June 2026 09:02 Beijing time``.

    One format for the command line, the office console, the holder's pages and the
    verifier page (whose script writes the same), with the date as ``date_text`` gives it.
    """
    local = as_utc(at).astimezone(BEIJING)
    clock = local.strftime("%H:%M")
    if lang == "zh":
        return f"{date_text(local.date(), 'zh')} {clock} 北京时间"
    return f"{date_text(local.date(), 'en')} {clock} Beijing time"
