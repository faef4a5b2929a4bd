"""The NAB data directory: series CSVs and labelled anomaly windows.

Layout (as in numenta/NAB)::

    <nab_dir>/data/<category>/<file>.csv        columns: timestamp,value
    <nab_dir>/labels/combined_windows.json      {"<category>/<file>.csv": [[start, end], ...]}

A series is named by its path relative to ``data/`` (``"realKnownCause/nyc_taxi.csv"``), the
key used by the windows file. Readers keep the timestamp and value text exactly as written so
result files can be aligned one-to-one with the data rows; every problem is a
:class:`~htmkit.errors.DataError` naming the file, and the line and column where there is one.
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError

#: NAB scores nothing in the first ``min(floor(p * n), p * 5000)`` rows of a series, ``p``
#: this fraction.
PROBATIONARY_PERCENT = 0.15
WINDOWS_FILE = Path("labels") / "combined_windows.json"
_SHARED_RELATIVE = Path("..") / "shared" / "data" / "nab"

Window = tuple[pd.Timestamp, pd.Timestamp]


# --------------------------------------------------------------------------------------------
# Locating the corpus
# --------------------------------------------------------------------------------------------


def _candidate_dirs() -> list[Path]:
    # src/htmkit/nab/corpus.py -> parents[3] is the repository root
    repo_root = Path(__file__).resolve().parents[3]
    cands = [Path.cwd() / _SHARED_RELATIVE, repo_root / _SHARED_RELATIVE]
    out: list[Path] = []
    for c in cands:
        c = Path(os.path.normpath(c))
        if c not in out:
            out.append(c)
    return out


def default_nab_dir() -> Path:
    """``../shared/data/nab`` relative to the working directory, else relative to the repo.

    Returns the first candidate that exists; when none does, the working-directory one (so a
    later :func:`resolve_nab_dir` reports a clear error).
    """
    cands = _candidate_dirs()
    for c in cands:
        if c.is_dir():
            return c
    return cands[0]


def resolve_nab_dir(nab_dir: str | os.PathLike[str] | None = None) -> Path:
    """Check that ``nab_dir`` (default :func:`default_nab_dir`) holds ``data/`` and the windows."""
    if nab_dir is None:
        path = default_nab_dir()
        tried = ", ".join(str(c) for c in _candidate_dirs())
        where = f"no NAB corpus found (tried {tried}); pass --nab-dir"
    else:
        path = Path(nab_dir)
        where = f"NAB directory {str(path)!r}"
    if not path.is_dir():
        raise DataError(where if nab_dir is None else f"{where} does not exist")
    if not (path / "data").is_dir():
        raise DataError(f"{where}: missing 'data/' folder in {str(path)!r}")
    if not (path / WINDOWS_FILE).is_file():
        raise DataError(f"{where}: missing labels file {str(path / WINDOWS_FILE)!r}")
    return path


# --------------------------------------------------------------------------------------------
# Series
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Series:
    """One NAB time series.

    ``timestamps`` (``datetime64``) and ``values`` (``float64``) are parsed;
    ``raw_timestamps`` / ``raw_values`` hold the text of each row as written in the file.
    """

    name: str
    path: Path
    timestamps: np.ndarray
    values: np.ndarray
    raw_timestamps: np.ndarray
    raw_values: np.ndarray

    @property
    def category(self) -> str:
        return category_of(self.name)

    @property
    def file(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    def __len__(self) -> int:
        return int(self.values.shape[0])


def category_of(name: str) -> str:
    """``"realKnownCause/nyc_taxi.csv"`` -> ``"realKnownCause"`` (``""`` when top-level)."""
    return name.rsplit("/", 1)[0] if "/" in name else ""


def list_series(nab_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Sorted names (``category/file.csv``) of every series CSV under ``<nab_dir>/data``."""
    root = resolve_nab_dir(nab_dir) / "data"
    names = [p.relative_to(root).as_posix() for p in root.glob("*/*.csv") if p.is_file()]
    names += [p.name for p in root.glob("*.csv") if p.is_file()]
    return sorted(names)


def select_series(names: Iterable[str], patterns: str | Sequence[str] | None) -> list[str]:
    """Names matching any glob pattern (comma-separated string or list).

    A pattern matches the full name (``realTweets/*``), the file name (``*taxi*``) or the file
    stem (``nyc_taxi``). ``None`` or empty keeps everything.
    """
    names = list(names)
    if patterns is None:
        return names
    if isinstance(patterns, str):
        patterns = [p.strip() for p in patterns.split(",")]
    pats = [p for p in patterns if p]
    if not pats:
        return names

    def hit(name: str) -> bool:
        file = name.rsplit("/", 1)[-1]
        stem = file[:-4] if file.endswith(".csv") else file
        return any(fnmatch.fnmatchcase(x, p) for p in pats for x in (name, file, stem))

    return [n for n in names if hit(n)]


def _parse_timestamps(raw: pd.Series) -> pd.Series:
    ts = pd.to_datetime(raw, format="ISO8601", errors="coerce")
    if ts.isna().any():  # tolerate other unambiguous layouts row by row
        bad = ts.isna() & (raw.str.strip() != "")
        if bad.any():
            ts = ts.copy()
            ts[bad] = pd.to_datetime(raw[bad], format="mixed", errors="coerce")
    return ts


def read_text_csv(path: Path, what: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """A NAB-layout CSV read as strings (nothing parsed yet), with ``columns`` required;
    every failure is a :class:`DataError` naming the file (``what`` names it in messages)."""
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path}: {what} is empty (expected header {','.join(columns)!r})") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: malformed CSV: {str(exc).strip()}") from None
    for col in columns:
        if col not in df.columns:
            raise DataError(
                f"{path}: missing column {col!r} (header has {', '.join(map(str, df.columns))})"
            )
    return df


def read_series_csv(path: str | os.PathLike[str], name: str | None = None) -> Series:
    """Read one ``timestamp,value`` CSV; any bad row raises :class:`DataError` with its line."""
    path = Path(path)
    label = name or path.name
    if not path.is_file():
        raise DataError(f"series file {str(path)!r} does not exist")
    df = read_text_csv(path, "file", ("timestamp", "value"))
    if len(df) == 0:
        raise DataError(f"{path}: no data rows")
    raw_ts = df["timestamp"].astype(str)
    raw_val = df["value"].astype(str)

    ts = _parse_timestamps(raw_ts)
    bad_ts = np.flatnonzero(ts.isna().to_numpy())
    if bad_ts.size:
        i = int(bad_ts[0])
        raise DataError(
            f"{path}: line {i + 2}, column 'timestamp': unparsable timestamp {raw_ts.iloc[i]!r}"
            f" ({bad_ts.size} bad row(s) in {label})"
        )
    values = pd.to_numeric(raw_val, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad_v = np.flatnonzero(~np.isfinite(values))
    if bad_v.size:
        i = int(bad_v[0])
        raise DataError(
            f"{path}: line {i + 2}, column 'value': not a finite number {raw_val.iloc[i]!r}"
            f" ({bad_v.size} bad row(s) in {label})"
        )
    return Series(
        name=label,
        path=path,
        timestamps=ts.to_numpy(dtype="datetime64[ns]"),
        values=values,
        raw_timestamps=raw_ts.to_numpy(dtype=object),
        raw_values=raw_val.to_numpy(dtype=object),
    )


def read_series(nab_dir: str | os.PathLike[str] | None, name: str) -> Series:
    """Read series ``name`` (``category/file.csv``) from ``<nab_dir>/data``."""
    root = resolve_nab_dir(nab_dir)
    path = root / "data" / name
    if not path.is_file():
        raise DataError(f"series {name!r} not found: {str(path)!r} does not exist")
    return read_series_csv(path, name)


# --------------------------------------------------------------------------------------------
# Windows and labels
# --------------------------------------------------------------------------------------------


def load_windows(path_or_dir: str | os.PathLike[str] | None = None) -> dict[str, list[Window]]:
    """Load ``combined_windows.json`` (a NAB directory or the JSON file itself).

    Returns ``{series name: [(start, end), ...]}`` with windows sorted by start.
    """
    p = Path(path_or_dir) if path_or_dir is not None else resolve_nab_dir(None)
    if p.is_dir():
        p = resolve_nab_dir(p) / WINDOWS_FILE
    if not p.is_file():
        raise DataError(f"windows file {str(p)!r} does not exist")
    try:
        raw = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise DataError(f"{p}: expected an object mapping series names to window lists")
    out: dict[str, list[Window]] = {}
    for name, wins in raw.items():
        if not isinstance(wins, list):
            raise DataError(f"{p}: windows of {name!r} must be a list of [start, end] pairs")
        parsed: list[Window] = []
        for j, w in enumerate(wins):
            if not (isinstance(w, list | tuple) and len(w) == 2):
                raise DataError(f"{p}: window {j} of {name!r} is not a [start, end] pair: {w!r}")
            try:
                a, b = pd.Timestamp(w[0]), pd.Timestamp(w[1])
            except (ValueError, TypeError):
                raise DataError(f"{p}: window {j} of {name!r} has a bad timestamp: {w!r}") from None
            if pd.isna(a) or pd.isna(b):
                raise DataError(f"{p}: window {j} of {name!r} has a bad timestamp: {w!r}")
            if b < a:
                raise DataError(f"{p}: window {j} of {name!r} ends before it starts: {w!r}")
            parsed.append((a, b))
        out[name] = sorted(parsed)
    return out


def window_bounds(series: Series, windows: Sequence[Window]) -> np.ndarray:
    """Row indices ``[[first, last], ...]`` (inclusive) of each window in ``series``.

    As in NAB, each window limit must be a timestamp of the series (its first occurrence is
    used); windows must not overlap.
    """
    ts = series.timestamps
    out = np.empty((len(windows), 2), dtype=np.int64)
    for j, (a, b) in enumerate(windows):
        for k, t in enumerate((a, b)):
            hits = np.flatnonzero(ts == np.datetime64(t.to_datetime64(), "ns"))
            if hits.size == 0:
                raise DataError(
                    f"{series.name}: window {j} limit {str(t)!r} is not a timestamp of the series"
                )
            out[j, k] = hits[0]
        if out[j, 1] < out[j, 0]:
            raise DataError(f"{series.name}: window {j} ends (row) before it starts")
        if j and out[j, 0] <= out[j - 1, 1]:
            raise DataError(f"{series.name}: windows {j - 1} and {j} overlap")
    return out


def labels_from_bounds(n: int, bounds: np.ndarray) -> np.ndarray:
    """0/1 label per row: 1 inside a window (limits included), as in NAB result files."""
    lab = np.zeros(n, dtype=np.int8)
    for a, b in np.asarray(bounds, dtype=np.int64).reshape(-1, 2):
        lab[a : b + 1] = 1
    return lab


def probationary_period(n: int, percent: float = PROBATIONARY_PERCENT) -> int:
    """Rows NAB leaves unscored at the start: ``min(floor(percent * n), percent * 5000)``.

    Returned as the integer index of the first scored row (NAB compares ``i >= 750.0``).
    """
    return int(min(math.floor(percent * n), math.ceil(percent * 5000)))
