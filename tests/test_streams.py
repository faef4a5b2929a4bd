"""CSV stream reading: NuPIC headers, bad rows skipped and reported, or stopped with strict."""

import numpy as np
import pytest

from htmkit.errors import DataError
from htmkit.streams import example_stream, read_csv_stream


def write(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_plain_and_nupic_headers(tmp_path):
    p = write(tmp_path, "timestamp,v\n2020-01-01 00:00,1\n2020-01-01 01:00,2.5\n")
    s = read_csv_stream(p, "v", "timestamp")
    assert s.values.tolist() == [1.0, 2.5] and s.lines.tolist() == [2, 3]
    q = write(tmp_path, "timestamp,v\ndatetime,float\nT,\n7/2/10 0:00,3\n7/2/10 1:00,4\n", "n.csv")
    with pytest.raises(DataError, match="ambiguous.*line 4"):
        read_csv_stream(q, "v", "timestamp")  # 7/2/10: July 2 or 7 February?
    s = read_csv_stream(q, "v", "timestamp", dayfirst=False)
    assert s.values.tolist() == [3.0, 4.0] and s.lines.tolist() == [4, 5]
    assert s.timestamps[1].hour == 1


def test_bad_rows_are_skipped_and_reported(tmp_path):
    p = write(
        tmp_path,
        "timestamp,v\n2020-01-01 00:00,1\n2020-01-01 01:00,abc\n2020-01-01 02:00,NaN\n"
        "2020-01-01 01:30,4\nnot a time,5\n2020-01-01 03:00,\n2020-01-01 04:00,6\n",
    )
    s = read_csv_stream(p, "v", "timestamp")
    assert s.values.tolist() == [1.0, 6.0]
    reasons = {r.line: r.reason for r in s.skipped}
    assert set(reasons) == {3, 4, 5, 6, 7}
    assert "not a number: 'abc'" in reasons[3] and "not a finite number" in reasons[4]
    assert "not later" in reasons[5]
    assert "unparsable timestamp" in reasons[6] and "empty" in reasons[7]
    with pytest.raises(DataError, match="line 3, column 'v'"):
        read_csv_stream(p, "v", "timestamp", strict=True)


def test_file_level_errors(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_csv_stream(tmp_path / "missing.csv", "v")
    with pytest.raises(DataError, match="empty"):
        read_csv_stream(write(tmp_path, ""), "v")
    with pytest.raises(DataError, match="no data rows"):
        read_csv_stream(write(tmp_path, "a,b\n", "h.csv"), "a")
    with pytest.raises(DataError, match="no column 'x'.*columns"):
        read_csv_stream(write(tmp_path, "a,b\n1,2\n", "c.csv"), "x")
    with pytest.raises(DataError, match="no timestamp column"):
        read_csv_stream(write(tmp_path, "a,b\n1,2\n", "t.csv"), "a", "ts")
    with pytest.raises(DataError, match="no usable rows"):
        read_csv_stream(write(tmp_path, "a\nx\ny\n", "u.csv"), "a")


def test_example_stream_is_seeded():
    a, sa = example_stream(500, seed=1)
    b, sb = example_stream(500, seed=1)
    assert a.equals(b) and np.array_equal(sa, sb)
    assert len(a) == 500 and list(a.columns) == ["timestamp", "value"]
    assert a["value"].iloc[sa[0]] > a["value"].iloc[sa[0] - 24] + 10  # the spike
