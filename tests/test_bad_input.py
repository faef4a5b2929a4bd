"""The bad-input corpus (tests/data/bad): every file is read right or refused with a message
naming the problem, through the reader and through ``htmkit anomaly``; plus output-path checks
before work, independent outputs, stale temporary files and the CLI's input options."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import htmkit.cli.commands  # noqa: F401  (registers the commands)
from htmkit.cli.main import app
from htmkit.errors import DataError
from htmkit.streams import CsvStreamReader, read_csv_stream

BAD = Path(__file__).parent / "data" / "bad"
CASES = json.loads((BAD / "cases.json").read_text())["cases"]
IDS = [c["file"][:-4] + ("-" + "-".join(f"{k}={v}" for k, v in c["options"].items())
                         if c.get("options") else "") for c in CASES]
runner = CliRunner()


def _reader_kwargs(options):
    kw = dict(options)
    return kw.pop("field", None), kw


def _cli_args(options):
    args = []
    for key, value in options.items():
        if key == "field":
            args += ["--value", value]
        elif key == "dayfirst":
            args.append("--dayfirst" if value else "--monthfirst")
        elif key == "strict":
            args.append("--strict")
        else:
            args += ["--" + key.replace("_", "-"), value]
    return args


def _check_skipped(expected, got):
    assert set(expected) == {str(r.line) for r in got}, [str(r) for r in got]
    by_line = {str(r.line): r.reason for r in got}
    for line, words in expected.items():
        assert words in by_line[line]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reader(case):
    field, kw = _reader_kwargs(case.get("options", {}))
    expect = case["expect"]
    if "error" in expect:
        with pytest.raises(DataError) as info:
            read_csv_stream(BAD / case["file"], field, "auto", **kw)
        assert expect["error"] in str(info.value)
        assert case["file"] in str(info.value)  # names the file
        return
    s = read_csv_stream(BAD / case["file"], field, "auto", **kw)
    if "values" in expect:
        assert s.values.tolist() == expect["values"]
    if "lines" in expect:
        assert s.lines.tolist() == expect["lines"]
    if "timestamps" in expect:
        assert list(s.timestamps) == [pd.Timestamp(t) for t in expect["timestamps"]]
    _check_skipped(expect.get("skipped", {}), s.skipped)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli_anomaly(case, tmp_path):
    out = tmp_path / "scores.csv"
    args = ["anomaly", str(BAD / case["file"]), "--out", str(out), "--quiet",
            *_cli_args(case.get("options", {}))]
    res = runner.invoke(app, args)
    expect = case["expect"]
    assert "Traceback" not in res.output
    if "error" in expect:
        assert res.exit_code == 2, res.output
        assert expect["error"] in res.output
        assert res.output.strip().count("\n") == 0  # one line
        assert not out.exists()
        return
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out)
    if "values" in expect:
        assert frame["value"].tolist() == expect["values"]
    if "lines" in expect:
        assert frame["line"].tolist() == expect["lines"]
    if "timestamps" in expect:
        assert [pd.Timestamp(t) for t in frame["timestamp"]] == [
            pd.Timestamp(t) for t in expect["timestamps"]]
    if expect.get("skipped"):
        assert f"skipped {len(expect['skipped'])} bad rows" in res.output


def test_corpus_table_lists_every_file():
    table = (BAD / "CASES.md").read_text()
    for name in sorted(p.name for p in BAD.glob("*.csv")):
        assert f"`{name}`" in table, name


# -- streaming ----------------------------------------------------------------------------------


def _big_csv(path, rows):
    start = np.datetime64("2000-01-01T00:00")
    with open(path, "w") as fh:
        fh.write("timestamp,value\n")
        step = 100_000
        for a in range(0, rows, step):
            idx = np.arange(a, min(rows, a + step))
            ts = (start + idx.astype("timedelta64[m]")).astype(str)
            vals = np.round(np.sin(idx / 50.0) * 10, 3)
            fh.write("".join(f"{t.replace('T', ' ')},{v}\n" for t, v in zip(ts, vals, strict=True)))


# The peak is this process's own high-water mark (VmHWM): ru_maxrss would start at the parent's
# peak (inherited through fork and exec), hiding any growth below it.
_MEASURE = r"""
import sys
from htmkit.streams import CsvStreamReader
def status(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(key))
r = CsvStreamReader(sys.argv[1], "value", "timestamp", chunk_rows=int(sys.argv[2]))
base = status("VmRSS:")
r.scan()
n = 0
for c in r.chunks():
    n += len(c.values)
peak = status("VmHWM:")
print(n, r.n_rows, r.minimum, r.maximum, (peak - base) // 1024)
"""


def _measure(path, chunk_rows):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1] / "src"))
    res = subprocess.run([sys.executable, "-c", _MEASURE, str(path), str(chunk_rows)],
                         capture_output=True, text=True, env=env, check=True)
    n, n_rows, lo, hi, growth_mb = res.stdout.split()
    return int(n), int(n_rows), float(lo), float(hi), int(growth_mb)


def test_streaming_reader_small(tmp_path):
    p = tmp_path / "big.csv"
    _big_csv(p, 30_000)
    n, n_rows, lo, hi, growth = _measure(p, 4096)
    assert n == n_rows == 30_000 and lo == -10.0 and hi == 10.0
    assert growth < 100


@pytest.mark.slow
def test_streaming_reader_two_million_rows_flat_memory(tmp_path):
    p = tmp_path / "big.csv"
    _big_csv(p, 2_000_000)  # about 50 MB of text
    n, n_rows, lo, hi, growth = _measure(p, 50_000)
    assert n == n_rows == 2_000_000
    # pandas read whole would hold ~2e6 rows of Python strings (hundreds of MB)
    assert growth < 120, growth


def test_chunks_arrive_before_the_file_is_read(tmp_path):
    p = tmp_path / "s.csv"
    _big_csv(p, 5000)
    r = CsvStreamReader(p, "value", "timestamp", chunk_rows=1000).scan()
    it = r.chunks()
    first = next(it)
    assert len(first.values) == 1000 and first.lines[0] == 2
    assert sum(len(c.values) for c in it) == 4000


def test_progress_lines_without_terminal(tmp_path, monkeypatch, capsys):
    from htmkit.apps import runner as run_mod

    monkeypatch.setattr(run_mod, "PROGRESS_EVERY_ROWS", 1000)
    ticker = run_mod.ProgressLines("htmkit test", True, total=5000)
    assert ticker.enabled  # pytest's stderr is not a terminal
    for done in range(500, 5001, 500):
        ticker("scoring", done)
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"htmkit test: scoring {k}/5000 rows" for k in range(1000, 5001, 1000)]
    quiet = run_mod.ProgressLines("x", False)
    quiet("scoring", 10**6)
    assert capsys.readouterr().err == ""


# -- check before work, independent outputs --------------------------------------------------


@pytest.fixture
def small_csv(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("timestamp,value\n" + "".join(
        f"2020-01-01 {h:02d}:00,{h % 5}\n" for h in range(24)))
    return p


@pytest.mark.parametrize("command", ["anomaly", "run"])
def test_output_paths_checked_before_work(command, small_csv, tmp_path):
    folder = tmp_path / "afolder"
    folder.mkdir()
    afile = tmp_path / "afile"
    afile.write_text("x")
    bad = [
        (["--out", str(folder)], "--out", "is a folder"),
        (["--plot", str(afile / "p.png")], "--plot", "is a file, not a folder"),
        (["--plot", str(tmp_path / "p.xyz")], "--plot", "cannot write '.xyz'"),
        (["--out", str(small_csv)], "--out", "is the input file"),
        (["--out", str(tmp_path / "o.csv"), "--plot", str(tmp_path / "o.csv")], "--plot",
         "same file as --out"),
    ]
    if command == "run":
        bad.append((["--save", str(folder)], "--save", "is a folder"))
    for args, option, words in bad:
        res = runner.invoke(app, [command, str(small_csv), "--quiet", *args])
        assert res.exit_code == 2, res.output
        assert option in res.output and words in res.output, res.output
        assert "records in" not in res.output  # refused before any record was scored
        assert "Traceback" not in res.output


def test_bad_plot_does_not_lose_save_or_out(small_csv, tmp_path, monkeypatch):
    from htmkit.apps import runner as run_mod

    def broken_plot(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(run_mod, "plot_run", broken_plot)
    out, png, model = tmp_path / "o.csv", tmp_path / "o.png", tmp_path / "m.htm"
    res = runner.invoke(app, ["run", str(small_csv), "--out", str(out), "--plot", str(png),
                              "--save", str(model), "--quiet"])
    assert res.exit_code == 1
    assert "--plot" in res.output and "disk full" in res.output
    assert out.exists() and model.exists() and not png.exists()
    assert "Traceback" not in res.output


def test_stale_temporary_files_are_removed_on_next_save(tmp_path):
    from htmkit.serialization import save_state, temp_prefix

    target = tmp_path / "m.htm"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".m.htm.htmtmp-{dead}-abc123.tmp"
    stale.write_bytes(b"half a file")
    mine = tmp_path / (temp_prefix(target) + "live.tmp")  # this process: maybe still writing
    mine.write_bytes(b"x")
    other = tmp_path / ".other.htm.htmtmp-1-x.tmp"
    other.write_bytes(b"x")
    save_state(target, "Thing", {"a": np.arange(3)})
    assert target.exists() and not stale.exists()
    assert mine.exists() and other.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".m.htm.") and
                p != mine]


def test_cli_options_in_help():
    for command in ("run", "anomaly"):
        res = runner.invoke(app, [command, "--help"], terminal_width=200)
        for option in ("--sep", "--decimal", "--time-format", "--dayfirst", "--monthfirst"):
            assert option in res.output, (command, option)


def test_sep_option_names(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("timestamp|value\n2020-01-01 00:00|1\n2020-01-01 01:00|2\n")
    assert read_csv_stream(p, None, "auto").values.tolist() == [1.0, 2.0]
    assert read_csv_stream(p, None, "auto", sep="|").values.tolist() == [1.0, 2.0]
    q = tmp_path / "tab.csv"
    q.write_text("timestamp\tvalue\n2020-01-01 00:00\t1\n")
    assert read_csv_stream(q, None, "auto", sep="tab").values.tolist() == [1.0]
    with pytest.raises(DataError, match="sep must be one character"):
        read_csv_stream(q, None, "auto", sep="ab")
    with pytest.raises(DataError, match="decimal must be"):
        read_csv_stream(q, None, "auto", decimal=";")


def test_out_rows_written_while_reading(tmp_path):
    from htmkit.apps.runner import CsvOut

    target = tmp_path / "o.csv"
    w = CsvOut(target, "%Y-%m-%d %H:%M:%S")
    w.write(pd.DataFrame({"line": [2], "value": [1.5]}))
    temps = [p for p in tmp_path.iterdir() if p.name.startswith(".o.csv.htmtmp-")]
    assert len(temps) == 1 and temps[0].read_text() == "line,value\n2,1.5\n"
    assert not target.exists()  # published only when complete
    w.write(pd.DataFrame({"line": [3], "value": [2.0]}))
    assert w.finish() and target.read_text() == "line,value\n2,1.5\n3,2.0\n"
    assert list(tmp_path.iterdir()) == [target]


def test_cli_run_input_options(tmp_path):
    p = tmp_path / "eu.csv"
    p.write_text("zeit;wert\n" + "".join(
        f"{d:02d}/01/2020 00:00;{d},{d % 7}\n" for d in range(1, 31)))
    expected = [float(f"{d}.{d % 7}") for d in range(1, 31)]
    for args, rows in [([], 30), (["--sep", ";", "--decimal", ",", "--dayfirst"], 30),
                       (["--time-format", "%d/%m/%Y %H:%M"], 30), (["--monthfirst"], 12)]:
        out = tmp_path / "o.csv"
        res = runner.invoke(app, ["run", str(p), "--timestamp", "zeit", "--quiet", "--out",
                                  str(out), *args])
        assert res.exit_code == 0, (args, res.output)
        frame = pd.read_csv(out)
        assert frame["value"].tolist() == expected[:rows], args
        second = "2020-02-01" if rows < 30 else "2020-01-02"
        assert pd.Timestamp(frame["timestamp"][1]) == pd.Timestamp(second), args
        if rows < 30:
            assert "skipped 18 bad rows" in res.output and "cannot be read month-first" in \
                res.output


def test_mutated_files_are_read_or_refused_never_crash(tmp_path):
    import random

    base = b"".join((BAD / name).read_bytes() for name in (
        "garbage_values.csv", "dst_offsets.csv", "dayfirst_proven.csv", "crlf.csv"))
    rng = random.Random(7)
    alphabet = b',;\t|"\r\n.:/-+eE0123456789 \xef\xbb\xbf\x00\xff'
    for k in range(150):
        b = bytearray(base)
        for _ in range(rng.randint(1, 10)):
            i = rng.randrange(len(b) + 1)
            op = rng.random()
            if op < 0.4 and b:
                b[min(i, len(b) - 1)] = rng.choice(alphabet)
            elif op < 0.7:
                b[i:i] = bytes([rng.choice(alphabet)])
            elif b:
                del b[min(i, len(b) - 1)]
        p = tmp_path / f"m{k}.csv"
        p.write_bytes(bytes(b))
        for kw in ({}, {"sep": ";", "decimal": ","}, {"dayfirst": True}):
            try:
                read_csv_stream(p, None, "auto", **kw)
            except DataError:
                pass


# ------------------------------------------------------------------ crafted model files
MODELS = json.loads((BAD / "models" / "models.json").read_text())["cases"]


@pytest.mark.parametrize("case", MODELS, ids=[c["file"][:-4] for c in MODELS])
def test_bad_model_file_is_a_format_error(case):
    """Each crafted model file of tests/data/bad/models (tools/make_bad_models.py) is refused
    with a FormatError naming the problem, never loaded, crashed on or raised otherwise."""
    import importlib

    from htmkit.errors import FormatError

    cls = getattr(importlib.import_module(case["module"]), case["class"])
    path = BAD / "models" / case["file"]
    with pytest.raises(FormatError) as info:
        cls.load(path)
    assert case["expect"] in str(info.value)
    assert str(path) in str(info.value)


def test_bad_model_files_are_small():
    """The corpus stays small in the repository (the zip bomb is a bzip2 member)."""
    sizes = {p.name: p.stat().st_size for p in (BAD / "models").glob("*.htm")}
    assert set(sizes) == {c["file"] for c in MODELS}
    assert max(sizes.values()) < 64 * 1024


def test_corpus_table_lists_every_model_file():
    table = (BAD / "CASES.md").read_text()
    for case in MODELS:
        assert f"`models/{case['file']}`" in table, case["file"]


@pytest.mark.parametrize("command", ["anomaly", "run"])
def test_cli_epoch_tab_and_progress_lines(command, tmp_path, monkeypatch):
    """--sep tab, --time-format epoch and (without --quiet, stderr not a terminal) progress
    lines, through both commands; --strict stops at a bad row in both."""
    from htmkit.apps import runner as run_mod

    monkeypatch.setattr(run_mod, "PROGRESS_EVERY_ROWS", 10)
    p = tmp_path / "e.tsv"
    p.write_text("timestamp\tvalue\n" + "".join(
        f"{1_600_000_000 + 3600 * i}\t{i % 5}.5\n" for i in range(40)))
    out = tmp_path / "o.csv"
    res = runner.invoke(app, [command, str(p), "--sep", "tab", "--time-format", "epoch",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out)
    assert frame["value"].tolist() == [i % 5 + 0.5 for i in range(40)]
    assert pd.Timestamp(frame["timestamp"][1]) == pd.Timestamp(1_600_003_600, unit="s")
    assert f"htmkit {command} e.tsv: scoring 40/40 rows" in res.output  # progress lines
    bad = tmp_path / "b.tsv"
    bad.write_text(p.read_text().replace("\t2.5\n", "\tx\n", 1))
    res = runner.invoke(app, [command, str(bad), "--sep", "tab", "--time-format", "epoch",
                              "--strict", "--quiet"])
    assert res.exit_code == 2 and "line 4" in res.output and "Traceback" not in res.output


@pytest.mark.slow
def test_anomaly_cli_memory_flat_over_a_million_rows(tmp_path):
    """``htmkit anomaly`` over a generated 1,000,000-row file (tools/score_big_csv.py):
    resident memory at the end of each full pass over the rows is within a few MB of where it
    was at 10 % of it, and scoring starts (stopped after a few seconds)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "score_big_csv", Path(__file__).parents[1] / "tools" / "score_big_csv.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    path = tmp_path / "big.csv"
    tool.write_csv(path, 1_000_000)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1] / "src"))
    got = tool.run_anomaly(path, tmp_path / "o.csv", env, 5.0, 1_000_000)
    assert got["scoring_rows"] > 0 or got["scoring_rss_mb_at_time"], got["last_lines"]
    for stage in ("checking", "reading"):
        at = got["rss_mb_at"][stage]
        assert at["100%"] - at["10%"] < 32, (stage, at)
