"""The parts of `htmkit demo` that are not covered by the vision tests: they run, measure what
they print, and write their pictures."""

import pytest

from htmkit.apps.demo import sp_digits_demo, sp_signal_demo, streaming_demo


def test_sp_signal_demo_measures_learning():
    lines = []
    res = sp_signal_demo(seed=0, steps=300, echo=lines.append)
    assert abs(res["sparsity"] - 20 / 1024) < 1e-3
    assert res["noise_robustness_after"] > res["noise_robustness_before"]
    assert res["stability"] == 1.0
    assert any("noise robustness" in line for line in lines)


@pytest.mark.slow
def test_sp_digits_and_streaming_demo_write_pictures(tmp_path):
    res = sp_digits_demo(tmp_path, seed=0, epochs=1, echo=lambda _: None)
    assert (tmp_path / "receptive_fields.png").stat().st_size > 5000
    assert 0.0 < res["sparsity"] <= 0.06
    lines = []
    out = streaming_demo(tmp_path, seed=0, echo=lines.append)
    assert (tmp_path / "stream.png").stat().st_size > 5000
    assert (tmp_path / "stream.csv").exists()
    assert out["detector"]["hits"][0]  # the injected spike is flagged
    assert any("AnomalyDetector" in line for line in lines)
