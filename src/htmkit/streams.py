"""Reading record streams from CSV files, and the built-in example stream.

CSV rules (used by ``htmkit run`` and ``htmkit anomaly``):

* A file in NuPIC/OPF format (a header row of names followed by a row of types such as
  ``datetime,float`` and a row of flags such as ``T,``) is recognised and the two extra header
  rows are skipped.
* A missing file, an empty file, or a missing column stops with a :class:`DataError` that
  names the file and the column (and lists the columns that exist).
* A row whose value is empty, ``NaN`` or not a number, whose timestamp cannot be parsed, or
  whose timestamp is not later than the previous row's, is **skipped** and reported (file line
  number, column and reason) in :attr:`Stream.skipped`; with ``strict=True`` the first such row
  stops the run with a :class:`DataError` naming line and column instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import DataError

if TYPE_CHECKING:  # pandas is imported by the functions that use it, not with the module
    import pandas as pd

_NUPIC_TYPES = {"datetime", "float", "int", "string", "bool", "list", "sdr", ""}


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
    skipped: list[SkippedRow] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.values.shape[0])


def _is_nupic_header(df: pd.DataFrame) -> bool:
    import pandas as pd

    if len(df) < 2:
        return False
    types = [str(v).strip().lower() if not pd.isna(v) else "" for v in df.iloc[0]]
    flags = [str(v).strip() if not pd.isna(v) else "" for v in df.iloc[1]]
    return all(t in _NUPIC_TYPES for t in types) and any(t for t in types) and all(
        len(f) <= 1 for f in flags
    )


def read_csv_stream(
    path: str | os.PathLike[str],
    field: str | None = None,
    timestamp: str | None = None,
    strict: bool = False,
) -> Stream:
    """Read one numeric field (and optionally a timestamp column) from a CSV file.

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

    Raises
    ------
    DataError
        Missing/empty file, missing column, or (``strict``) a bad row.
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a CSV file")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from None
    first_line = 2  # line number of df row 0 (line 1 is the header)
    if _is_nupic_header(df):
        df = df.iloc[2:].reset_index(drop=True)
        first_line = 4
    if len(df) == 0:
        raise DataError(f"{path}: the file has a header but no data rows")
    columns = list(df.columns)
    if timestamp == "auto":
        timestamp = "timestamp" if "timestamp" in columns else None
    if timestamp is not None and timestamp not in columns:
        raise DataError(f"{path}: no timestamp column {timestamp!r} (columns: {columns})")
    if field is None:
        candidates = [c for c in columns if c != timestamp]
        if not candidates:
            raise DataError(f"{path}: no value column besides the timestamp")
        field = candidates[0]
    if field not in columns:
        raise DataError(f"{path}: no column {field!r} (columns: {columns})")

    lines = np.arange(first_line, first_line + len(df))
    raw = df[field].astype(str).str.strip()
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad_value = ~np.isfinite(values)
    skipped: list[SkippedRow] = []
    keep = ~bad_value
    ts_parsed = None
    if timestamp is not None:
        ts_raw = df[timestamp].astype(str).str.strip()
        ts_parsed = _parse_timestamps(ts_raw)
        bad_ts = ts_parsed.isna().to_numpy()
        keep &= ~bad_ts
    reasons: dict[int, SkippedRow] = {}
    for i in np.flatnonzero(bad_value):
        why = "empty value" if raw.iloc[i] == "" else f"not a finite number: {raw.iloc[i]!r}"
        reasons[i] = SkippedRow(int(lines[i]), field, why)
    if ts_parsed is not None:
        for i in np.flatnonzero(ts_parsed.isna().to_numpy()):
            reasons.setdefault(i, SkippedRow(int(lines[i]), timestamp,
                                             f"unparsable timestamp {df[timestamp].iloc[i]!r}"))
        # timestamps must increase strictly (compared with every earlier parsable timestamp)
        ts_ns = ts_parsed.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        last = None
        for i in np.flatnonzero(~ts_parsed.isna().to_numpy()):
            if last is not None and ts_ns[i] <= last:
                keep[i] = False
                reasons.setdefault(i, SkippedRow(int(lines[i]), timestamp,
                                                 "timestamp is not later than the previous row's"))
                continue
            last = ts_ns[i]
    skipped = [reasons[i] for i in sorted(reasons)]
    if strict and skipped:
        raise DataError(f"{path}: bad row at {skipped[0]}")
    if not keep.any():
        raise DataError(f"{path}: no usable rows in column {field!r} ({len(skipped)} bad rows; "
                        f"first: {skipped[0] if skipped else '-'})")
    return Stream(
        path=str(path),
        field=field,
        values=values[keep],
        lines=lines[keep],
        timestamps=pd.DatetimeIndex(ts_parsed[keep]) if ts_parsed is not None else None,
        timestamp_column=timestamp,
        skipped=skipped,
    )


def _parse_timestamps(raw: pd.Series) -> pd.Series:
    import pandas as pd

    parsed = pd.to_datetime(raw, errors="coerce", format="ISO8601")
    if parsed.isna().mean() > 0.5:
        # not ISO: try pandas' inference (e.g. "7/2/10 0:00" of the hotgym file)
        alt = pd.to_datetime(raw, errors="coerce", format="mixed")
        if alt.notna().sum() > parsed.notna().sum():
            parsed = alt
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(None)
    return parsed


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
