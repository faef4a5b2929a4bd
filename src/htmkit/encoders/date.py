"""The date encoder: season, day of week, weekend, holiday and time of day of a timestamp."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import InputError, InputTypeError, ParameterError
from ..params import Constraints, Custom, Interval, check_int, validate
from ..sdr import SDR
from .base import Encoder, is_missing
from .scalar import ScalarEncoder, ScalarEncoderParams

__all__ = ["DateEncoder", "DateEncoderParams", "to_datetime"]

#: Periods of the periodic sub-encoders.
_SEASON_PERIOD = 366.0
_WEEK_PERIOD = 7.0
_DAY_PERIOD = 24.0
_SECONDS_PER_DAY = 86400.0
_SHIFT_CACHE = 4096

#: Order of the sub-encodings in the output (NuPIC's order).
FIELDS = ("season", "day_of_week", "weekend", "holiday", "time_of_day")


def _normalize_holiday(i: int, h: Any) -> tuple[int, ...]:
    name = f"holidays[{i}]"
    if isinstance(h, _dt.datetime):
        h = h.date()
    if isinstance(h, _dt.date):
        return (h.year, h.month, h.day)
    if isinstance(h, str) or not isinstance(h, Sequence) or len(h) not in (2, 3):
        raise ParameterError(
            f"{name} must be a (month, day) or (year, month, day) tuple or a date, got {h!r}"
        )
    parts = tuple(check_int(name, v) for v in h)
    try:
        # (month, day) must exist in some year: check against a leap year
        _dt.date(*parts) if len(parts) == 3 else _dt.date(2000, *parts)
    except ValueError as exc:
        raise ParameterError(f"{name} is not a valid date {h!r}: {exc}") from None
    return parts


def _check_holidays(name: str, hol: Any) -> tuple[tuple[int, ...], ...]:
    if isinstance(hol, (str, bytes)) or not isinstance(hol, Sequence):
        raise ParameterError(f"{name} must be a sequence of dates, got {hol!r}")
    return tuple(_normalize_holiday(i, h) for i, h in enumerate(hol))


@dataclass(frozen=True, kw_only=True)
class DateEncoderParams:
    """Parameters of a :class:`DateEncoder` (validated at construction).

    Each field is enabled by a width (number of active bits) ``> 0``; at least one must be.

    Parameters
    ----------
    season_width : int
        Active bits of the day-of-year encoding (periodic over 366 days).
    season_radius : float
        Days over which season encodings overlap (``0 < radius <= 183``).
    day_of_week_width : int
        Active bits of the day-of-week encoding (periodic over 7 days, Monday = 0; the time of
        day is included as a fraction of a day).
    day_of_week_radius : float
        Days over which day-of-week encodings overlap (``0 < radius <= 3.5``).
    weekend_width : int
        Active bits of the weekend flag (Saturday or Sunday): two non-overlapping blocks.
        Binary, so it has no radius.
    holiday_width : int
        Active bits of the holiday encoding: a value that is 1 on a holiday and ramps linearly
        from 0 to 1 over ``holiday_radius`` days before it and back to 0 over
        ``holiday_radius`` days after it (like NuPIC's), encoded like a non-periodic scalar
        in ``[0, 1]`` with ``2 * holiday_width`` bits (0 and 1 do not overlap).
    holiday_radius : float
        Length of the ramps in days (``0 < radius <= 366``; NuPIC uses 1).
    holidays : sequence
        Holidays as ``(month, day)`` (every year), ``(year, month, day)`` or ``datetime.date``.
        Default: January 1 and December 25.
    time_of_day_width : int
        Active bits of the time-of-day encoding (periodic over 24 hours).
    time_of_day_radius : float
        Hours over which time-of-day encodings overlap (``0 < radius <= 12``).
    """

    _parameter_constraints: ClassVar[Constraints] = {
        **{f"{f}_width": Interval(int, 0, 1 << 20) for f in FIELDS},
        "season_radius": Interval(float, 0, _SEASON_PERIOD / 2, closed="right"),
        "day_of_week_radius": Interval(float, 0, _WEEK_PERIOD / 2, closed="right"),
        "time_of_day_radius": Interval(float, 0, _DAY_PERIOD / 2, closed="right"),
        "holiday_radius": Interval(float, 0, _SEASON_PERIOD, closed="right"),
        "holidays": Custom(_check_holidays, "a sequence of dates"),
    }

    season_width: int = 0
    season_radius: float = 91.5
    day_of_week_width: int = 0
    day_of_week_radius: float = 1.0
    weekend_width: int = 0
    holiday_width: int = 0
    holiday_radius: float = 1.0
    holidays: tuple[tuple[int, ...], ...] = ((1, 1), (12, 25))
    time_of_day_width: int = 0
    time_of_day_radius: float = 4.0

    def __post_init__(self) -> None:
        validate(self)
        if not any(getattr(self, f"{f}_width") for f in FIELDS):
            raise ParameterError(
                "DateEncoderParams needs at least one field enabled: set one of "
                + ", ".join(f"{f}_width" for f in FIELDS)
                + " > 0"
            )


def to_datetime(value: Any, owner: str = "DateEncoder") -> _dt.datetime | None:
    """Convert a supported timestamp to a ``datetime.datetime`` (``None`` if missing).

    Accepts ``datetime.datetime`` (including ``pandas.Timestamp``; time zones are ignored: the
    wall-clock fields are used as given), ``datetime.date`` (midnight), ``numpy.datetime64``
    and ISO 8601 strings. Other types raise ``TypeError`` naming ``owner``; an unparsable
    string or an out-of-range datetime64 raises :class:`~htmkit.errors.InputError`.
    """
    if isinstance(value, _dt.datetime):
        if is_missing(value):  # pandas.NaT is a datetime subclass
            return None
        return value
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return _dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise InputError(f"{owner}: cannot parse {value!r} as an ISO 8601 date") from None
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day)
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return None
        out = value.astype("datetime64[us]").item()
        if not isinstance(out, _dt.datetime):
            if isinstance(out, _dt.date):
                return _dt.datetime(out.year, out.month, out.day)
            raise InputError(f"{owner}: {value!r} is outside the supported date range")
        return out
    if is_missing(value):
        return None
    raise InputTypeError(
        f"{owner} expects a datetime, pandas Timestamp, numpy datetime64 or ISO string, "
        f"got {type(value).__name__} ({value!r:.40})"
    )


class DateEncoder(Encoder):
    """Encode a timestamp as season, day of week, weekend, holiday and time of day.

    Each enabled field is a :class:`~htmkit.encoders.ScalarEncoder` sub-encoding; they are
    concatenated in the order ``season, day_of_week, weekend, holiday, time_of_day`` (disabled
    fields take no bits). :attr:`offsets` and :attr:`field_slices` locate each field's bits.

    Fields (value encoded; encoder):

    * ``season``: day of year - 1 + fraction of the day, in [0, 366); periodic, radius in days.
    * ``day_of_week``: weekday (Monday = 0) + fraction of the day, in [0, 7); periodic, radius
      in days.
    * ``weekend``: 1 on Saturday and Sunday, else 0; two disjoint blocks.
    * ``holiday``: 1 on a holiday, linear ramps before and after it, else 0; scalar in [0, 1].
    * ``time_of_day``: hours since midnight, in [0, 24); periodic, radius in hours.

    Parameters
    ----------
    params : DateEncoderParams, optional
        The parameters; or pass them as keyword arguments
        (``DateEncoder(time_of_day_width=21, weekend_width=21)``).
    **kwargs
        Fields of :class:`DateEncoderParams` when ``params`` is not given.

    Notes
    -----
    Inputs: ``datetime.datetime``, ``pandas.Timestamp``, ``datetime.date``,
    ``numpy.datetime64`` or an ISO 8601 string (see :func:`to_datetime`); time zones are
    ignored. *Missing values* (``None``, ``NaT``, NaN) encode to an SDR with no active bits.
    Any other type raises ``TypeError`` naming the type; an unparsable string raises
    :class:`~htmkit.errors.InputError`.
    """

    params_class = DateEncoderParams

    def __init__(self, params: DateEncoderParams | None = None, **kwargs: Any):
        self.params: DateEncoderParams = self._resolve_params(params, kwargs)
        p = self.params
        subs: dict[str, ScalarEncoder] = {}
        if p.season_width:
            subs["season"] = ScalarEncoder(ScalarEncoderParams(
                minimum=0.0, maximum=_SEASON_PERIOD, active_bits=p.season_width,
                radius=p.season_radius, periodic=True))
        if p.day_of_week_width:
            subs["day_of_week"] = ScalarEncoder(ScalarEncoderParams(
                minimum=0.0, maximum=_WEEK_PERIOD, active_bits=p.day_of_week_width,
                radius=p.day_of_week_radius, periodic=True))
        if p.weekend_width:
            subs["weekend"] = ScalarEncoder(ScalarEncoderParams(
                minimum=0.0, maximum=1.0, active_bits=p.weekend_width,
                size=2 * p.weekend_width))
        if p.holiday_width:
            subs["holiday"] = ScalarEncoder(ScalarEncoderParams(
                minimum=0.0, maximum=1.0, active_bits=p.holiday_width,
                size=2 * p.holiday_width))
        if p.time_of_day_width:
            subs["time_of_day"] = ScalarEncoder(ScalarEncoderParams(
                minimum=0.0, maximum=_DAY_PERIOD, active_bits=p.time_of_day_width,
                radius=p.time_of_day_radius, periodic=True))
        self._subs = subs
        offsets: dict[str, int] = {}
        start = 0
        for name, enc in subs.items():
            offsets[name] = start
            start += enc.size
        self._offsets = offsets
        self._size = start
        self._dims = (start,)
        self._parts = [(name, enc, offsets[name]) for name, enc in subs.items()]
        self._shifted: list[dict[int, np.ndarray]] = [{} for _ in self._parts]
        self._holiday_years: dict[int, tuple[int, ...]] = {}

    # ------------------------------------------------------------------ properties
    @property
    def offsets(self) -> dict[str, int]:
        """First output bit of each enabled field, in output order."""
        return dict(self._offsets)

    @property
    def field_slices(self) -> dict[str, slice]:
        """Output bit range of each enabled field."""
        return {n: slice(o, o + self._subs[n].size) for n, o in self._offsets.items()}

    @property
    def field_encoders(self) -> dict[str, ScalarEncoder]:
        """The scalar sub-encoder of each enabled field."""
        return dict(self._subs)

    # ------------------------------------------------------------------ values
    def _holiday_ordinals(self, year: int) -> tuple[int, ...]:
        """Proleptic ordinals (days) of the holidays in ``year - 1 .. year + 1``."""
        ords = self._holiday_years.get(year)
        if ords is None:
            days = []
            for h in self.params.holidays:
                if len(h) == 3:
                    days.append(_dt.date(*h).toordinal())
                    continue
                for y in (year - 1, year, year + 1):
                    if 1 <= y <= 9999:
                        try:
                            days.append(_dt.date(y, h[0], h[1]).toordinal())
                        except ValueError:  # February 29 in a non-leap year
                            pass
            ords = tuple(sorted(set(days)))
            if len(self._holiday_years) > 256:
                self._holiday_years.clear()
            self._holiday_years[year] = ords
        return ords

    def holiday_value(self, t: _dt.datetime) -> float:
        """The holiday value of ``t`` in ``[0, 1]``: 1 on a holiday, linear ramps around it."""
        seconds = t.hour * 3600 + t.minute * 60 + t.second + t.microsecond * 1e-6
        now = t.toordinal() + seconds / _SECONDS_PER_DAY
        r = self.params.holiday_radius
        best = 0.0
        for h in self._holiday_ordinals(t.year):
            d = now - h  # days since the holiday's midnight
            if d < 0.0:
                v = 1.0 + d / r
            elif d < 1.0:
                return 1.0
            else:
                v = 1.0 - (d - 1.0) / r
            if v > best:
                best = v
        return best

    def field_values(self, value: Any) -> dict[str, float] | None:
        """The scalar value fed to each enabled field's encoder (``None`` if missing)."""
        t = to_datetime(value)
        if t is None:
            return None
        frac = (t.hour * 3600 + t.minute * 60 + t.second + t.microsecond * 1e-6) / _SECONDS_PER_DAY
        out: dict[str, float] = {}
        for name in self._subs:
            if name == "season":
                out[name] = t.timetuple().tm_yday - 1 + frac
            elif name == "day_of_week":
                out[name] = t.weekday() + frac
            elif name == "weekend":
                out[name] = 1.0 if t.weekday() >= 5 else 0.0
            elif name == "holiday":
                out[name] = self.holiday_value(t)
            else:
                out[name] = frac * _DAY_PERIOD
        return out

    # ------------------------------------------------------------------ encoding
    def encode(self, value: Any) -> SDR:
        """Encode one timestamp.

        Parameters
        ----------
        value : datetime, pandas.Timestamp, date, numpy.datetime64, ISO string, or missing
            The input.

        Returns
        -------
        SDR
            Shape ``(size,)``; no active bits for a missing value.

        Raises
        ------
        TypeError
            ``value`` is of an unsupported type.
        InputError
            An unparsable string or an out-of-range datetime64.
        """
        values = self.field_values(value)
        if values is None:
            return self._missing()
        pieces = []
        for (name, enc, off), shifted in zip(self._parts, self._shifted, strict=True):
            b = enc._bucket(values[name])
            idx = shifted.get(b)
            if idx is None:  # sub-encoders have few buckets: cache them, pre-shifted
                idx = enc._bucket_sdr(b).indices.astype(np.int64) + off
                if len(shifted) < _SHIFT_CACHE:
                    shifted[b] = idx
            pieces.append(idx)
        return SDR._trusted(self._dims, np.concatenate(pieces) if len(pieces) > 1 else pieces[0])
