"""NAB corpus loading: series CSVs, windows JSON, clear DataErrors naming file and line."""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from htmkit.errors import DataError
from htmkit.nab import corpus


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def make_nab(root: Path, windows=None) -> Path:
    write(root / "data" / "catA" / "a.csv", "timestamp,value\n2020-01-01 00:00:00,1\n")
    write(
        root / "labels" / "combined_windows.json",
        json.dumps(windows if windows is not None else {"catA/a.csv": []}),
    )
    return root


def test_read_series_keeps_raw_text(tmp_path):
    p = write(
        tmp_path / "s.csv",
        "timestamp,value\n2014-04-01 00:00:00,10\n2014-04-01 00:05:00,2.50\n"
        "2014-04-01 00:05:00,-3e2\n",
    )
    s = corpus.read_series_csv(p, "cat/s.csv")
    assert len(s) == 3 and s.category == "cat" and s.file == "s.csv"
    assert s.values.tolist() == [10.0, 2.5, -300.0]
    assert s.raw_values.tolist() == ["10", "2.50", "-3e2"]
    assert s.raw_timestamps[1] == "2014-04-01 00:05:00"
    assert s.timestamps.dtype == np.dtype("datetime64[ns]")
    assert s.timestamps[1] == np.datetime64("2014-04-01T00:05:00")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("timestamp,val\n2020-01-01 00:00:00,1\n", "missing column 'value'"),
        ("time,value\n2020-01-01 00:00:00,1\n", "missing column 'timestamp'"),
        (
            "timestamp,value\n2020-01-01 00:00:00,1\n2020-01-01 00:05:00,abc\n",
            r"line 3, column 'value': not a finite number 'abc'",
        ),
        (
            "timestamp,value\n2020-01-01 00:00:00,1\n2020-01-01 00:05:00,\n",
            r"line 3, column 'value'",
        ),
        ("timestamp,value\n2020-01-01 00:00:00,inf\n", r"line 2, column 'value'"),
        (
            "timestamp,value\n2020-01-01 00:00:00,1\nyesterday,2\n",
            r"line 3, column 'timestamp': unparsable timestamp 'yesterday'",
        ),
        ("timestamp,value\n2020-01-01 00:00:00,1\n2020-01-01 00:05:00,1,2\n", "malformed CSV"),
        ("", "empty"),
        ("timestamp,value\n", "no data rows"),
    ],
)
def test_bad_csv_raises_data_error_naming_file_and_line(tmp_path, text, match):
    p = write(tmp_path / "bad.csv", text)
    with pytest.raises(DataError, match=match) as err:
        corpus.read_series_csv(p)
    assert "bad.csv" in str(err.value)


def test_missing_files_and_dirs(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        corpus.read_series_csv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="does not exist"):
        corpus.resolve_nab_dir(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="missing 'data/'"):
        corpus.resolve_nab_dir(tmp_path / "empty")
    (tmp_path / "empty" / "data").mkdir()
    with pytest.raises(DataError, match="combined_windows.json"):
        corpus.resolve_nab_dir(tmp_path / "empty")
    root = make_nab(tmp_path / "nab")
    with pytest.raises(DataError, match="catA/zz.csv"):
        corpus.read_series(root, "catA/zz.csv")
    assert corpus.list_series(root) == ["catA/a.csv"]


def test_default_dir_prefers_the_working_directory(tmp_path, monkeypatch):
    root = make_nab(tmp_path / "shared" / "data" / "nab")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert corpus.default_nab_dir() == root
    assert corpus.resolve_nab_dir() == root
    # without a ../shared next to the working dir it falls back to the repo-relative path
    elsewhere = tmp_path / "a" / "b"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    repo_rel = Path(os.path.normpath(Path(corpus.__file__).resolve().parents[3] / ".." / "shared"))
    got = corpus.default_nab_dir()
    assert got == repo_rel / "data" / "nab" or got == elsewhere.parent / "shared" / "data" / "nab"


def test_load_windows(tmp_path):
    root = make_nab(
        tmp_path,
        {
            "catA/a.csv": [
                ["2020-01-02 00:00:00.000000", "2020-01-03 00:00:00.000000"],
                ["2020-01-01 00:00:00", "2020-01-01 06:00:00"],
            ]
        },
    )
    w = corpus.load_windows(root)
    assert [str(a) for a, _ in w["catA/a.csv"]] == ["2020-01-01 00:00:00", "2020-01-02 00:00:00"]
    assert corpus.load_windows(root / "labels" / "combined_windows.json") == w


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "expected an object"),
        ('{"a.csv": "x"}', "must be a list"),
        ('{"a.csv": [["2020-01-01"]]}', "not a \\[start, end\\] pair"),
        ('{"a.csv": [["2020-01-01", "garbage"]]}', "bad timestamp"),
        ('{"a.csv": [["2020-01-02", "2020-01-01"]]}', "ends before it starts"),
    ],
)
def test_bad_windows_file(tmp_path, content, match):
    p = write(tmp_path / "w.json", content)
    with pytest.raises(DataError, match=match):
        corpus.load_windows(p)


def test_window_bounds_and_labels(tmp_path):
    rows = "".join(f"2020-01-01 00:{m:02d}:00,{m}\n" for m in range(10))
    s = corpus.read_series_csv(write(tmp_path / "s.csv", "timestamp,value\n" + rows), "c/s.csv")
    spec = {"c/s.csv": [["2020-01-01 00:02", "2020-01-01 00:04"], ["2020-01-01 00:07"] * 2]}
    ts = corpus.load_windows(write(tmp_path / "w.json", json.dumps(spec)))["c/s.csv"]
    b = corpus.window_bounds(s, ts)
    assert b.tolist() == [[2, 4], [7, 7]]
    assert corpus.labels_from_bounds(10, b).tolist() == [0, 0, 1, 1, 1, 0, 0, 1, 0, 0]

    def win(a, b):
        return (pd.Timestamp(f"2020-01-01 00:{a}"), pd.Timestamp(f"2020-01-01 00:{b}"))

    with pytest.raises(DataError, match="not a timestamp of the series"):
        corpus.window_bounds(s, [win("02:30", "04:00")])
    with pytest.raises(DataError, match="overlap"):
        corpus.window_bounds(s, [win("02:00", "05:00"), win("05:00", "06:00")])


def test_select_series_patterns():
    names = ["realKnownCause/nyc_taxi.csv", "realTweets/Twitter_volume_AAPL.csv", "art/x.csv"]
    assert corpus.select_series(names, None) == names
    assert corpus.select_series(names, "") == names
    assert corpus.select_series(names, "realTweets/*") == [names[1]]
    assert corpus.select_series(names, "nyc_taxi") == [names[0]]
    assert corpus.select_series(names, "*taxi*, x.csv") == [names[0], names[2]]
    assert corpus.select_series(names, ["nomatch"]) == []


def test_probationary_period_rule():
    assert corpus.probationary_period(100) == 15
    assert corpus.probationary_period(1000) == 150
    assert corpus.probationary_period(4032) == 604
    assert corpus.probationary_period(5000) == 750
    assert corpus.probationary_period(22695) == 750
    assert corpus.probationary_period(3) == 0
