"""``htmkit bench memory`` on a few records of real NAB series (slow tier: it builds
detectors)."""

from pathlib import Path

import pytest

from htmkit.bench import memory

NAB = Path("/work/shared/data/nab")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (NAB / "data").is_dir(), reason=f"NAB data not found under {NAB}"),
]


def test_run_many_reports_memory_and_speed(tmp_path):
    rep = memory.run_many(models=2, records=40, alone_records=40, nab_dir=NAB,
                          tmp_dir=tmp_path)
    assert rep["models"] == 2 and rep["records"] == 40
    assert rep["saved_file_mib"] > 0
    parts = rep["breakdown_mib_model0"]
    assert parts["sp_synapse_store"] > 0 and parts["btm_segments_synapses"] > 0
    assert rep["interleaved_records_per_cpu_s"] > 0 and rep["alone_records_per_cpu_s"] > 0
    assert not list(tmp_path.iterdir())  # the saved model is removed


def test_run_long_samples_and_scales(tmp_path):
    seen = []
    rep = memory.run_long(records=60, sample_every=20, nab_dir=NAB, progress=seen.append)
    assert [s["records"] for s in rep["samples"]] == [20, 40, 60] == [s["records"] for s in seen]
    assert rep["value_range"] == [0.0, 100.0]
    memory.plot_long({"run": rep}, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 0


def test_bad_arguments():
    from htmkit.errors import InputError

    with pytest.raises(InputError):
        memory.run_many(models=0, records=10, nab_dir=NAB)
    with pytest.raises(InputError, match="nab_dir"):
        memory.nab_series("/nonexistent")
