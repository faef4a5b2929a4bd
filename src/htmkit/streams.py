"""Reading record streams from CSV files, and the built-in example stream.

The CSV reader streams: it reads the file in chunks of rows (memory does not grow with the
file's length) and goes over it more than once — a first pass looks at the whole file to settle
how it is written (separator, decimal mark, day/month order, UTC offsets), a second counts the
usable rows and their range, and the caller's pass yields the records chunk by chunk.

CSV rules (used by ``htmkit run`` and ``htmkit anomaly``; the table in
``docs/guide/input-rules.rst`` lists each with its behaviour):

* Text is UTF-8; a byte-order mark is dropped; line ends may be ``\\n`` or ``\\r\\n``; fields
  may be quoted. Other encodings stop with a :class:`DataError` naming the line.
* The separator is the one of ``,`` ``;`` tab ``|`` that occurs most often in the header line
  (``,`` when none does), unless given (``sep``).
* The decimal mark is ``.`` in a comma-separated file. In a file with another separator it is
  ``,`` when the value column holds numbers written with a decimal comma and none with a
  point, ``.`` otherwise; a column holding both stops with a :class:`DataError` naming a line of
  each, unless ``decimal`` is given.
* A value is read only when it is written as a plain number with the file's decimal mark:
  optional sign, digits, optional fraction, optional exponent (``1e3`` is 1000). Anything else
  (empty, ``NaN``, ``inf``, thousands separators such as ``1,234.5`` or ``1.234,5``, a decimal
  mark other than the file's, text) is never guessed at: the row is skipped and reported.
* A file in NuPIC/OPF format (a header row of names followed by a row of types such as
  ``datetime,float`` and a row of flags such as ``T,``) is recognised and the two extra header
  rows are skipped.
* Timestamps: ISO 8601 by default (other forms pandas can read are accepted when most of a
  chunk is not ISO). Dates written ``a/b/yyyy`` (or with ``.`` or ``-``) are read day-first or
  month-first as the whole file proves (a first field above 12 proves day-first, a second one
  month-first); when no row proves the order and some row reads differently both ways, the
  reader stops with a :class:`DataError` naming the column and the first such line, unless
  ``dayfirst`` or ``time_format`` is given. A row that contradicts the order is skipped.
  ``time_format="epoch"`` (or ``"epoch_ms"``) reads seconds (milliseconds) since 1970-01-01
  UTC; any other ``time_format`` is a ``strftime`` format.
* Timestamps with a UTC offset (``+01:00``, ``Z``) are converted to UTC, so a file whose offset
  changes (a daylight-saving switch) reads as one increasing UTC series; the times written to
  outputs are UTC without an offset. A column mixing timestamps with and without an offset
  stops with a :class:`DataError`.
* A missing file, an empty file, a missing column or a selected column named twice in the
  header stops with a :class:`DataError` that names the file and the column (and lists the
  columns that exist).
* A row with another number of fields than the header, whose value is not read (see above),
  whose timestamp cannot be parsed or lies outside the years pandas can hold (1678-2261), or
  whose timestamp is not later than the previous row's, is **skipped** and reported (file line
  number, column and reason) in :attr:`Stream.skipped`; with ``strict=True`` the first such row
  stops the run with a :class:`DataError` naming line and column instead.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DataError

if TYPE_CHECKING:  # pandas is imported by the functions that use it, not with the module
    import pandas as pd

_NUPIC_TYPES = {"datetime", "float", "int", "string", "bool", "list", "sdr", ""}
_SEPARATORS = (",", ";", "\t", "|")
_SEP_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
#: rows kept in :attr:`Stream.skipped` (all are counted in ``n_skipped``)
MAX_SKIPPED_KEPT = 1000
#: rows read per chunk
CHUNK_ROWS = 50_000
_SLASH_DATE = r"^(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{2,4}(?!\d)"
_OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$")
_NOT_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)


_HAS_TIME = re.compile(r"\d{1,2}:\d{2}")


def _offset_kind(text: str) -> bool | None:
    """True: a time with a UTC offset; False: a time without one; None: no time of day."""
    if _OFFSET.search(text):
        return True
    return False if _HAS_TIME.search(text) else None


def _to_datetime(raw: pd.Series, **kwargs: Any) -> pd.Series:
    """``pd.to_datetime(raw, errors="coerce", **kwargs)``; where pandas raises for the chunk
    (mixed time zones, overflow), each element on its own (NaT where it fails)."""
    import pandas as pd

    try:
        return pd.to_datetime(raw, errors="coerce", **kwargs)
    except (ValueError, TypeError, OverflowError):
        pass
    utc = bool(kwargs.get("utc"))
    out = []
    for item in raw:
        try:
            t = pd.to_datetime(item, errors="coerce", **kwargs)
            if t is not pd.NaT and getattr(t, "tzinfo", None) is not None and not utc:
                t = pd.NaT  # an offset where the file has none
            out.append(t)
        except (ValueError, TypeError, OverflowError):
            out.append(pd.NaT)
    return pd.Series(pd.DatetimeIndex(out, tz="UTC" if utc else None), index=raw.index)


def _number_pattern(decimal: str) -> str:
    d = re.escape(decimal)
    return rf"[+-]?(?:\d+(?:{d}\d*)?|{d}\d+)(?:[eE][+-]?\d+)?"


@dataclass
class SkippedRow:
    """A row left out of the stream: its 1-based line number in the file, column and reason."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column!r}: {self.reason}"


@dataclass
class Stream:
    """Clean records of one CSV field, with the file lines they came from."""

    path: str
    field: str
    values: np.ndarray  # float64
    lines: np.ndarray  # 1-based line numbers in the file
    timestamps: pd.DatetimeIndex | None = None
    timestamp_column: str | None = None
    skipped: list[SkippedRow] = dc_field(default_factory=list)
    n_skipped: int = 0

    def __len__(self) -> int:
        return int(self.values.shape[0])


@dataclass
class Chunk:
    """Consecutive usable records: values, file lines and (if read) timestamps."""

    values: np.ndarray
    lines: np.ndarray
    timestamps: pd.DatetimeIndex | None


def _is_nupic_header(rows: list[list[str]]) -> bool:
    if len(rows) < 2:
        return False
    types = [v.strip().lower() for v in rows[0]]
    flags = [v.strip() for v in rows[1]]
    return all(t in _NUPIC_TYPES for t in types) and any(t for t in types) and all(
        len(f) <= 1 for f in flags
    )


def _sniff_separator(header: str) -> str:
    counts = {s: 0 for s in _SEPARATORS}
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(_SEPARATORS, key=lambda s: counts[s])  # ties: the earlier one (comma first)
    return best if counts[best] else ","


def _norm_sep(sep: str) -> str:
    sep = _SEP_NAMES.get(sep.lower(), sep)
    if len(sep) != 1 or sep in "\"\r\n" or sep.isalnum() or sep == ".":
        raise DataError(f"sep must be one character such as ',' ';' '|' or 'tab', got {sep!r}")
    return sep


class CsvStreamReader:
    """Streams one numeric column (and optionally a timestamp column) of a CSV file.

    Opening reads only the header. :meth:`scan` reads the whole file once to settle how it is
    written and once to count the usable rows (:attr:`n_rows`, :attr:`minimum`,
    :attr:`maximum`, :attr:`skipped`); :meth:`chunks` then yields the usable records in order,
    a chunk at a time. Memory stays bounded by the chunk size whatever the file's length.

    Parameters
    ----------
    path : path-like
        The CSV file.
    field : str, optional
        Name of the numeric column. Default: the first column that is not the timestamp.
    timestamp : str, optional
        Name of the timestamp column; ``"auto"`` picks a column named ``timestamp`` if any.
    strict : bool
        Stop at the first bad row instead of skipping it.
    sep : str, optional
        Field separator (one character, or ``"tab"``). Default: detected from the header.
    decimal : str, optional
        Decimal mark, ``"."`` or ``","``. Default: detected (see the module rules).
    time_format : str, optional
        ``"epoch"`` (seconds since 1970 UTC), ``"epoch_ms"`` (milliseconds) or a ``strftime``
        format. Default: ISO 8601 or what the file proves.
    dayfirst : bool, optional
        Read ``a/b/yyyy`` dates day-first (True) or month-first (False). Default: what the
        file proves; an ambiguous file is refused.
    chunk_rows : int
        Rows per chunk.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        field: str | None = None,
        timestamp: str | None = None,
        strict: bool = False,
        *,
        sep: str | None = None,
        decimal: str | None = None,
        time_format: str | None = None,
        dayfirst: bool | None = None,
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        self.path = Path(path)
        self.strict = bool(strict)
        self.chunk_rows = max(1, int(chunk_rows))
        if decimal is not None and decimal not in (".", ","):
            raise DataError(f"decimal must be '.' or ',', got {decimal!r}")
        self.decimal = decimal
        if time_format is not None and not time_format.strip():
            raise DataError("time_format must not be empty")
        self.time_format = time_format
        self.dayfirst = dayfirst
        path = self.path
        if not path.exists():
            raise DataError(f"{path}: no such file")
        if path.is_dir():
            raise DataError(f"{path}: is a folder, not a CSV file")
        head_line = ""
        with self._open() as fh:
            head_line = fh.readline()
        if not head_line.strip():
            if head_line == "" or path.stat().st_size <= 4:
                raise DataError(f"{path}: the file is empty")
            raise DataError(f"{path}: line 1 (the header) is empty")
        self.sep = _norm_sep(sep) if sep is not None else _sniff_separator(head_line)
        first = self._first_rows(4)
        header = [h.strip() for h in first[0][1]]
        data = first[1:]
        self.skip_rows = 0
        if _is_nupic_header([r for _, r in data[:2]]) and len(data) >= 2:
            self.skip_rows = 2
        if len(data) <= self.skip_rows:
            raise DataError(f"{path}: the file has a header but no data rows")
        self.columns = header
        if timestamp == "auto":
            timestamp = "timestamp" if "timestamp" in header else None
        if timestamp is not None and timestamp not in header:
            raise DataError(f"{path}: no timestamp column {timestamp!r} (columns: {header})")
        if field is None:
            candidates = [c for c in header if c != timestamp]
            if not candidates:
                raise DataError(f"{path}: no value column besides the timestamp")
            field = candidates[0]
        if field not in header:
            raise DataError(f"{path}: no column {field!r} (columns: {header})")
        for name in (field, timestamp):
            if name is not None and header.count(name) > 1:
                where = [i + 1 for i, h in enumerate(header) if h == name]
                raise DataError(f"{path}: column {name!r} appears {len(where)} times in the "
                                f"header (columns {where}); rename one")
        self.field = field
        self.timestamp = timestamp
        self._vi = header.index(field)
        self._ti = header.index(timestamp) if timestamp is not None else -1
        self._offsets = False
        self._settled = False
        self.n_rows = 0
        self.minimum = float("nan")
        self.maximum = float("nan")
        self.skipped: list[SkippedRow] = []
        self.n_skipped = 0
        self.dates_only = True
        self.subsecond = False

    # -- reading rows -------------------------------------------------------------------------

    def _open(self) -> Any:
        # undecodable bytes become lone surrogates, found per row (see _rows)
        return open(self.path, encoding="utf-8-sig", errors="surrogateescape", newline="")

    def _first_rows(self, k: int) -> list[tuple[int, list[str]]]:
        out = []
        for item in self._rows(header=True):
            out.append(item)
            if len(out) >= k:
                break
        return out

    def _rows(self, header: bool = False) -> Iterator[tuple[int, list[str]]]:
        """(line, fields) of every row; the header and NuPIC rows only when ``header``."""
        with self._open() as fh:
            reader = csv.reader(fh, delimiter=self.sep, skipinitialspace=True)
            last = 0
            index = 0
            try:
                for fields in reader:
                    line = last + 1
                    last = reader.line_num
                    try:
                        "".join(fields).encode("utf-8")
                    except UnicodeEncodeError:
                        raise DataError(f"{self.path}: line {line} is not UTF-8 text (save the "
                                        f"file as UTF-8)") from None
                    if header or index > getattr(self, "skip_rows", 0):
                        yield line, fields
                    index += 1
            except csv.Error as exc:
                raise DataError(f"{self.path}: line {last + 1}: not a readable CSV row "
                                f"({exc})") from None

    def _raw_chunks(self) -> Iterator[tuple[np.ndarray, list[str], list[str] | None,
                                            dict[int, str]]]:
        """Chunks of (lines, value strings, timestamp strings, {row: reason for bad shape})."""
        n_cols = len(self.columns)
        vi, ti = self._vi, self._ti
        lines: list[int] = []
        vals: list[str] = []
        stamps: list[str] = []
        shape: dict[int, str] = {}
        for line, fields in self._rows():
            if len(fields) != n_cols:
                why = ("empty line" if not fields else
                       f"{len(fields)} fields, the header has {n_cols}")
                if len(fields) == n_cols + 1 and self.sep == ",":
                    why += " (a decimal comma in a comma-separated file? quote such values)"
                shape[len(lines)] = why
                lines.append(line)
                vals.append("")
                stamps.append("")
            else:
                lines.append(line)
                vals.append(fields[vi].strip())
                if ti >= 0:
                    stamps.append(fields[ti].strip())
            if len(lines) >= self.chunk_rows:
                yield np.asarray(lines, dtype=np.int64), vals, stamps if ti >= 0 else None, shape
                lines, vals, stamps, shape = [], [], [], {}
        if lines:
            yield np.asarray(lines, dtype=np.int64), vals, stamps if ti >= 0 else None, shape

    # -- pass 1: how the file is written ------------------------------------------------------

    def _settle(self, progress: Any = None) -> None:
        import pandas as pd

        want_decimal = self.decimal is None and self.sep != ","
        if self.decimal is None and self.sep == ",":
            self.decimal = "."
        want_dates = self.timestamp is not None and self.time_format is None
        first_comma = first_dot = None
        day_proof = month_proof = ambiguous = None
        first_aware = first_naive = None
        comma_re = r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?"
        dot_re = r"[+-]?(?:\d*\.\d+|\d+\.)(?:[eE][+-]?\d+)?"
        done = 0
        if want_decimal or want_dates:
            for lines, vals, stamps, _ in self._raw_chunks():
                if want_decimal:
                    v = pd.Series(vals, dtype=object)
                    if first_comma is None:
                        hit = np.flatnonzero(v.str.fullmatch(comma_re).to_numpy(dtype=bool))
                        first_comma = int(lines[hit[0]]) if hit.size else None
                    if first_dot is None:
                        hit = np.flatnonzero(v.str.fullmatch(dot_re).to_numpy(dtype=bool))
                        first_dot = int(lines[hit[0]]) if hit.size else None
                if want_dates and stamps is not None:
                    s = pd.Series(stamps, dtype=object)
                    ab = s.str.extract(_SLASH_DATE)
                    a = pd.to_numeric(ab[0], errors="coerce").to_numpy(dtype=np.float64)
                    b = pd.to_numeric(ab[1], errors="coerce").to_numpy(dtype=np.float64)
                    with np.errstate(invalid="ignore"):
                        for mask, kind in (((a > 12) & (b <= 12), "day"),
                                           ((b > 12) & (a <= 12), "month"),
                                           ((a <= 12) & (b <= 12) & (a != b), "amb")):
                            hit = np.flatnonzero(mask)
                            if not hit.size:
                                continue
                            found = (int(lines[hit[0]]), stamps[hit[0]])
                            if kind == "day" and day_proof is None:
                                day_proof = found
                            elif kind == "month" and month_proof is None:
                                month_proof = found
                            elif kind == "amb" and ambiguous is None:
                                ambiguous = found
                    aware = s.map(_offset_kind)
                    av = aware.to_numpy(dtype=object)
                    if first_aware is None:
                        hit = np.flatnonzero(av == True)  # noqa: E712
                        first_aware = (int(lines[hit[0]]), stamps[hit[0]]) if hit.size else None
                    if first_naive is None:
                        hit = np.flatnonzero(av == False)  # noqa: E712
                        first_naive = (int(lines[hit[0]]), stamps[hit[0]]) if hit.size else None
                done += len(lines)
                if progress is not None:
                    progress("checking", done)
        p, col = self.path, self.timestamp
        if want_decimal:
            if first_comma is not None and first_dot is not None:
                raise DataError(
                    f"{p}: column {self.field!r} has numbers with a decimal comma (line "
                    f"{first_comma}) and with a decimal point (line {first_dot}); give the "
                    f"decimal mark (--decimal)")
            self.decimal = "," if first_comma is not None else "."
        if want_dates:
            if first_aware is not None and first_naive is not None:
                raise DataError(
                    f"{p}: column {col!r} mixes timestamps with a UTC offset (line "
                    f"{first_aware[0]}: {first_aware[1]!r}) and without one (line "
                    f"{first_naive[0]}: {first_naive[1]!r}); write all of them one way")
            self._offsets = first_aware is not None
            if self.dayfirst is None:
                if day_proof is not None and month_proof is not None:
                    raise DataError(
                        f"{p}: column {col!r} has day-first dates (line {day_proof[0]}: "
                        f"{day_proof[1]!r}) and month-first dates (line {month_proof[0]}: "
                        f"{month_proof[1]!r}); give --dayfirst/--monthfirst or --time-format")
                if day_proof is not None:
                    self.dayfirst = True
                elif month_proof is not None:
                    self.dayfirst = False
                elif ambiguous is not None:
                    raise DataError(
                        f"{p}: column {col!r}: the day/month order of the dates is ambiguous "
                        f"(first at line {ambiguous[0]}: {ambiguous[1]!r}, and no date in the "
                        f"file has a day above 12); give --dayfirst/--monthfirst or "
                        f"--time-format")
                else:
                    self.dayfirst = False  # every a/b date reads the same both ways
        self._settled = True

    # -- parsing ------------------------------------------------------------------------------

    def _parse_values(self, vals: list[str], lines: np.ndarray, shape: dict[int, str],
                      reasons: dict[int, SkippedRow]) -> np.ndarray:
        import pandas as pd

        dec = self.decimal or "."
        s = pd.Series(vals, dtype=object)
        ok = np.array(s.str.fullmatch(_number_pattern(dec)).to_numpy(dtype=bool))
        for row in shape:
            ok[row] = False
        values = np.full(len(vals), np.nan)
        if ok.any():
            good = s[ok] if dec == "." else s[ok].str.replace(",", ".", regex=False)
            values[ok] = pd.to_numeric(good, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        other = "," if dec == "." else "."
        for i in np.flatnonzero(bad):
            if i in shape:
                reasons[int(i)] = SkippedRow(int(lines[i]), self.field, shape[int(i)])
                continue
            text = vals[i]
            if text == "":
                why = "empty value"
            elif _NOT_FINITE.fullmatch(text) or ok[i]:
                why = f"not a finite number: {text!r}"
            elif other in text and any(c.isdigit() for c in text):
                why = (f"not read: {text!r} has a thousands separator or a decimal mark other "
                       f"than the file's {dec!r}")
            else:
                why = f"not a number: {text!r}"
            reasons[int(i)] = SkippedRow(int(lines[i]), self.field, why)
        return values

    def _parse_times(self, stamps: list[str]) -> tuple[pd.Series, np.ndarray]:
        """Parsed timestamps (tz-naive, UTC where an offset was given) and why each bad one
        is bad (empty string where good)."""
        import pandas as pd

        raw = pd.Series(stamps, dtype=object)
        n = len(stamps)
        why = np.full(n, "", dtype=object)
        fmt = self.time_format
        if fmt is not None and fmt.lower() in ("epoch", "epoch_s", "epoch_ms"):
            num_ok = raw.str.fullmatch(r"[+-]?\d+(?:\.\d+)?").to_numpy(dtype=bool)
            nums = pd.to_numeric(raw.where(num_ok, None), errors="coerce")
            unit = "ms" if fmt.lower() == "epoch_ms" else "s"
            limit = 9.2e15 if unit == "ms" else 9.2e12
            nums = nums.where(nums.abs() < limit)
            parsed = _to_datetime(nums, unit=unit)
        elif fmt is not None:
            utc = "%z" in fmt or "%Z" in fmt
            parsed = _to_datetime(raw, format=fmt, utc=utc)
        else:
            utc = self._offsets
            parsed = _to_datetime(raw, format="ISO8601", utc=utc)
            if parsed.isna().mean() > 0.5:
                # not ISO: try pandas' inference (e.g. "7/2/10 0:00" of the hotgym file)
                alt = _to_datetime(raw, format="mixed", utc=utc, dayfirst=bool(self.dayfirst))
                if alt.notna().sum() > parsed.notna().sum():
                    parsed = alt
            ab = raw.str.extract(_SLASH_DATE)
            if ab[0].notna().any():
                a = pd.to_numeric(ab[0], errors="coerce").to_numpy(dtype=np.float64)
                b = pd.to_numeric(ab[1], errors="coerce").to_numpy(dtype=np.float64)
                day = parsed.dt.day.to_numpy(dtype=np.float64, na_value=np.nan)
                month = parsed.dt.month.to_numpy(dtype=np.float64, na_value=np.nan)
                d, m = (a, b) if self.dayfirst else (b, a)
                wrong = ~np.isnan(a) & ~np.isnan(day) & ((day != d) | (month != m))
                order = "day-first" if self.dayfirst else "month-first"
                for i in np.flatnonzero(wrong):
                    why[i] = f"date {stamps[i]!r} cannot be read {order} (as the file is)"
                parsed = parsed.mask(wrong)
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert(None)
        unparsed = parsed.isna().to_numpy() & (why == "")
        for i in np.flatnonzero(unparsed):
            text = stamps[i]
            why[i] = "empty timestamp" if text == "" else f"unparsable timestamp {text!r}"
            if text.isdigit() and fmt is None:
                why[i] += " (seconds since 1970? give --time-format epoch)"
        # the years pandas can hold at nanosecond resolution
        us = parsed.to_numpy(dtype="datetime64[us]")
        lo, hi = np.datetime64(pd.Timestamp.min, "us"), np.datetime64(pd.Timestamp.max, "us")
        out = ~parsed.isna().to_numpy() & ((us < lo) | (us > hi))
        for i in np.flatnonzero(out):
            why[i] = f"timestamp {stamps[i]!r} out of range (years 1678-2261 are read)"
        parsed = parsed.mask(out)
        return parsed, why

    def _parse(self) -> Iterator[tuple[Chunk, list[SkippedRow]]]:
        import pandas as pd

        last = None
        for lines, vals, stamps, shape in self._raw_chunks():
            reasons: dict[int, SkippedRow] = {}
            values = self._parse_values(vals, lines, shape, reasons)
            keep = np.isfinite(values)
            ts = None
            if stamps is not None and self.timestamp is not None:
                ts, why = self._parse_times(stamps)
                good = ~ts.isna().to_numpy()
                for i in np.flatnonzero(~good):
                    if i not in shape:
                        reasons.setdefault(int(i), SkippedRow(int(lines[i]), self.timestamp,
                                                         str(why[i])))
                keep &= good
                # timestamps must increase strictly (compared with the last parsable one)
                t_us = ts.to_numpy(dtype="datetime64[us]").astype(np.int64)
                for i in np.flatnonzero(good):
                    if last is not None and t_us[i] <= last:
                        keep[i] = False
                        reasons.setdefault(int(i), SkippedRow(
                            int(lines[i]), self.timestamp,
                            "timestamp is not later than the previous row's"))
                        continue
                    last = int(t_us[i])
            skipped = [reasons[i] for i in sorted(reasons)]
            if self.strict and skipped:
                raise DataError(f"{self.path}: bad row at {skipped[0]}")
            chunk = Chunk(values[keep], lines[keep],
                          pd.DatetimeIndex(ts[keep]) if ts is not None else None)
            yield chunk, skipped

    # -- public passes ------------------------------------------------------------------------

    def scan(self, progress: Any = None) -> CsvStreamReader:
        """Read the file twice (how it is written; usable rows and their range).

        ``progress(stage, rows_done)`` is called after each chunk if given. Returns ``self``.
        Raises :class:`DataError` for a file-level problem, a bad row with ``strict``, or a
        file without a usable row.
        """
        if not self._settled:
            self._settle(progress)
        n, lo, hi = 0, np.inf, -np.inf
        skipped: list[SkippedRow] = []
        n_skipped = 0
        dates_only, subsecond = True, False
        done = 0
        for chunk, bad in self._parse():
            if chunk.values.size:
                n += chunk.values.size
                lo = min(lo, float(chunk.values.min()))
                hi = max(hi, float(chunk.values.max()))
            if chunk.timestamps is not None and len(chunk.timestamps):
                t = chunk.timestamps
                dates_only = dates_only and bool((t.normalize() == t).all())
                subsecond = subsecond or bool(((t - t.floor("s")) != 0).any())
            n_skipped += len(bad)
            if len(skipped) < MAX_SKIPPED_KEPT:
                skipped.extend(bad[: MAX_SKIPPED_KEPT - len(skipped)])
            done += len(bad) + chunk.values.size
            if progress is not None:
                progress("reading", done)
        self.n_rows, self.skipped, self.n_skipped = n, skipped, n_skipped
        self.dates_only, self.subsecond = dates_only, subsecond
        if n == 0:
            raise DataError(f"{self.path}: no usable rows in column {self.field!r} "
                            f"({n_skipped} bad rows; first: {skipped[0] if skipped else '-'})")
        self.minimum, self.maximum = lo, hi
        return self

    def chunks(self) -> Iterator[Chunk]:
        """The usable records, a chunk at a time (reads the file once more)."""
        if not self._settled:
            self._settle()
        for chunk, _ in self._parse():
            if chunk.values.size:
                yield chunk


def read_csv_stream(
    path: str | os.PathLike[str],
    field: str | None = None,
    timestamp: str | None = None,
    strict: bool = False,
    *,
    sep: str | None = None,
    decimal: str | None = None,
    time_format: str | None = None,
    dayfirst: bool | None = None,
) -> Stream:
    """Read one numeric field (and optionally a timestamp column) of a CSV file into memory.

    For files of any length use :class:`CsvStreamReader`, which this wraps; the rules are in
    the module documentation.

    Parameters
    ----------
    path : path-like
        The CSV file.
    field : str, optional
        Name of the numeric column. Default: the first column that is not the timestamp.
    timestamp : str, optional
        Name of the timestamp column; ``"auto"`` picks a column named ``timestamp`` if any.
    strict : bool
        Stop at the first bad row instead of skipping it.
    sep, decimal, time_format, dayfirst
        As for :class:`CsvStreamReader` (default: detected).

    Raises
    ------
    DataError
        Missing/empty file, missing column, a file written ambiguously, or (``strict``) a bad
        row.
    """
    import pandas as pd

    reader = CsvStreamReader(path, field, timestamp, strict, sep=sep, decimal=decimal,
                             time_format=time_format, dayfirst=dayfirst)
    reader._settle()
    values, lines, stamps = [], [], []
    skipped: list[SkippedRow] = []
    for chunk, bad in reader._parse():
        values.append(chunk.values)
        lines.append(chunk.lines)
        if chunk.timestamps is not None:
            stamps.append(chunk.timestamps)
        skipped.extend(bad)
    v = np.concatenate(values)
    if v.size == 0:
        raise DataError(f"{path}: no usable rows in column {reader.field!r} ({len(skipped)} "
                        f"bad rows; first: {skipped[0] if skipped else '-'})")
    ts = None
    if reader.timestamp is not None:
        ts = stamps[0].append(stamps[1:]) if len(stamps) > 1 else stamps[0]
        ts = pd.DatetimeIndex(ts)
    return Stream(path=str(path), field=reader.field, values=v, lines=np.concatenate(lines),
                  timestamps=ts, timestamp_column=reader.timestamp, skipped=skipped,
                  n_skipped=len(skipped))


def example_stream(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """The built-in example: an hourly signal with daily and weekly seasonality and noise,
    with anomalies injected at known places (a spike, a level shift, a flat-lined stretch and
    a change of daily pattern) in the last third.

    Returns
    -------
    frame : DataFrame with columns ``timestamp`` and ``value``
    anomaly_rows : int array of the rows where each injected anomaly starts
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    t = np.arange(n)
    ts = pd.date_range("2026-01-05", periods=n, freq="h")
    hour = ts.hour.to_numpy()
    weekday = ts.day_of_week.to_numpy()
    daily = np.where((hour >= 7) & (hour <= 21), 1.0, 0.0) * (
        10 + 8 * np.sin(np.pi * (hour - 7) / 14.0)
    )
    weekly = np.where(weekday >= 5, 0.6, 1.0)
    value = 5 + daily * weekly + rng.normal(0, 0.4, n)
    starts = np.array([int(n * 0.70), int(n * 0.78), int(n * 0.86), int(n * 0.93)])
    value[starts[0]] += 25  # spike
    value[starts[1] : starts[1] + 24] += 8  # level shift for a day
    value[starts[2] : starts[2] + 30] = value[starts[2]]  # flat line
    seg = slice(starts[3], min(n, starts[3] + 48))
    value[seg] = 5 + np.roll(daily, 6)[seg] * weekly[seg]  # shifted daily pattern
    _ = t
    return pd.DataFrame({"timestamp": ts, "value": np.round(value, 3)}), starts
