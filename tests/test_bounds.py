"""Bounded parameters (#18): every constructor refuses sizes that cannot fit, before it
allocates, with a message that names the parameter, the estimate and the limit."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

import htmkit
from htmkit import params as P
from htmkit.anomaly import AnomalyLikelihood
from htmkit.backtracking_tm import BacktrackingTemporalMemory
from htmkit.encoders import RDSE, CategoryEncoder, ImageEncoder, ScalarEncoder
from htmkit.errors import ParameterError
from htmkit.network import Network
from htmkit.predictor import Predictor, ScalarPredictor
from htmkit.sdr import SDR
from htmkit.spatial_pooler import SpatialPooler
from htmkit.temporal_memory import TemporalMemory
from htmkit.temporal_pooler import TemporalPooler
from htmkit.vision.hierarchy import VisionHierarchy

#: A refusal must come this fast (seconds) and with this little memory (bytes, Python and
#: numpy allocations as tracemalloc sees them).
FAST_S = 2.0
SMALL_BYTES = 16 << 20


def _network(shape: int, columns: int = 2048) -> Network:
    return Network.from_config({
        "regions": {"s": {"type": "SDRSensor", "params": {"shape": [shape]}},
                    "sp": {"type": "SpatialPooler",
                           "params": {"column_dimensions": [columns]}}},
        "links": [{"source": "s", "target": "sp"}]})


def _two_sensor_network(shape: int) -> Network:
    return Network.from_config({
        "regions": {"a": {"type": "SDRSensor", "params": {"shape": [shape]}},
                    "b": {"type": "SDRSensor", "params": {"shape": [10]}},
                    "tm": {"type": "TemporalMemory", "params": {"cells_per_column": 4}}},
        "links": [{"source": "a", "target": "tm"}, {"source": "b", "target": "tm"}]})


# name -> (huge: builds a too-large object, the parameter named, normal: a usual one)
CASES: dict[str, tuple[Callable[[], Any], str, Callable[[], Any]]] = {
    "SpatialPooler": (
        lambda: SpatialPooler(input_dimensions=100, column_dimensions=(10**9,)),
        "column_dimensions",
        lambda: SpatialPooler(input_dimensions=(28, 28), column_dimensions=(32, 32))),
    "SpatialPooler-inputs": (
        lambda: SpatialPooler(input_dimensions=(10**9,), column_dimensions=16,
                              potential_radius=1),
        "input_dimensions",
        lambda: SpatialPooler(input_dimensions=1000, column_dimensions=2048)),
    "TemporalMemory": (
        lambda: TemporalMemory(column_dimensions=10**7, cells_per_column=32),
        "column_dimensions",
        lambda: TemporalMemory(column_dimensions=2048, cells_per_column=32)),
    "BacktrackingTemporalMemory": (
        lambda: BacktrackingTemporalMemory(column_dimensions=(10**7,)),
        "column_dimensions",
        lambda: BacktrackingTemporalMemory(column_dimensions=(2048,))),
    "TemporalPooler": (
        lambda: TemporalPooler(input_size=10**6, column_dimensions=(10**5,)),
        "column_dimensions",
        lambda: TemporalPooler(input_size=1024, column_dimensions=(256,))),
    "Predictor": (
        lambda: Predictor(steps=(1, 5), input_size=10**6, max_classes=10**5),
        "input_size",
        lambda: Predictor(steps=(1,), input_size=2048, max_classes=100)),
    "ScalarPredictor": (
        lambda: ScalarPredictor(steps=1, input_size=10**6, max_classes=10**5),
        "max_classes",
        lambda: ScalarPredictor(steps=1, input_size=2048)),
    "AnomalyLikelihood": (
        lambda: AnomalyLikelihood(historic_window_size=10**12),
        "historic_window_size",
        lambda: AnomalyLikelihood()),
    "ScalarEncoder": (
        lambda: ScalarEncoder(minimum=0, maximum=1, size=2**31 - 1, active_bits=2**31 - 2),
        "active_bits",
        lambda: ScalarEncoder(minimum=0, maximum=100, size=400, active_bits=21)),
    "RDSE": (
        lambda: RDSE(size=2**31 - 1, active_bits=2**31 - 2, resolution=1.0),
        "active_bits",
        lambda: RDSE(size=1000, active_bits=21, resolution=1.0)),
    "CategoryEncoder": (
        lambda: CategoryEncoder(categories=("a",), active_bits=2**30),
        "active_bits",
        lambda: CategoryEncoder(categories=("a", "b"), active_bits=21)),
    "ImageEncoder": (
        lambda: ImageEncoder(image_shape=(10**5, 10**5)),
        "image_shape",
        lambda: ImageEncoder(image_shape=(28, 28))),
    "VisionHierarchy": (
        lambda: VisionHierarchy(level1={"depth": 10**6}),
        "level1",
        lambda: VisionHierarchy(levels=1)),
    "Network": (
        lambda: _network(1000, columns=10**8),
        "column_dimensions",
        lambda: _network(1000)),
    "Network-links": (
        lambda: _two_sensor_network(10**9),
        "link",
        lambda: _two_sensor_network(100)),
}


@pytest.fixture(autouse=True)
def _default_limit(monkeypatch):
    monkeypatch.delenv(P.MAX_BYTES_ENV, raising=False)
    P.set_memory_limit(None)
    yield
    P.set_memory_limit(None)


@pytest.mark.parametrize("name", list(CASES))
def test_huge_sizes_are_refused_quickly_and_small(name):
    huge, param, normal = CASES[name]
    normal()  # compiles and imports what the class needs, outside the measurement
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(ParameterError) as info:
            huge()
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert param in message
    assert elapsed < FAST_S, f"{name}: refused after {elapsed:.2f} s"
    assert peak < SMALL_BYTES, f"{name}: peak {peak} bytes before the refusal"
    assert "estimated" in message or "int32" in message, message
    if "estimated" in message:
        assert "limit of 8.0 GiB" in message, message
        assert "set_memory_limit" in message and P.MAX_BYTES_ENV in message


def test_the_message_gives_estimate_and_limit():
    with pytest.raises(ParameterError,
                       match=r"column_dimensions.*\(1000000000,\).* needs about [0-9.]+ [GT]iB "
                             r"\(estimated\), above the limit of 8\.0 GiB"):
        SpatialPooler(input_dimensions=100, column_dimensions=(10**9,))


@pytest.mark.parametrize("name", list(CASES))
def test_normal_sizes_construct(name):
    CASES[name][2]()


def test_set_memory_limit_lowers_and_restores():
    SpatialPooler(input_dimensions=1000, column_dimensions=2048)
    htmkit.set_memory_limit(1 << 20)
    assert htmkit.get_memory_limit() == 1 << 20
    with pytest.raises(ParameterError, match=r"above the limit of 1\.0 MiB"):
        SpatialPooler(input_dimensions=1000, column_dimensions=2048)
    with pytest.raises(ParameterError, match="historic_window_size"):
        AnomalyLikelihood(historic_window_size=10**6)
    htmkit.set_memory_limit(None)
    assert htmkit.get_memory_limit() == P.DEFAULT_MAX_BYTES
    SpatialPooler(input_dimensions=1000, column_dimensions=2048)


def test_a_higher_limit_admits_larger_objects():
    from htmkit.anomaly import AnomalyLikelihoodParams

    with pytest.raises(ParameterError, match="historic_window_size"):
        AnomalyLikelihoodParams(historic_window_size=10**9)
    htmkit.set_memory_limit(1 << 40)
    AnomalyLikelihoodParams(historic_window_size=10**9)  # validated; nothing allocated


@pytest.mark.parametrize("text, expected", [
    ("1048576", 1 << 20), ("16G", 16 << 30), ("16GiB", 16 << 30), ("512m", 512 << 20),
    ("2T", 2 << 40), ("1.5K", 1536),
])
def test_environment_variable(monkeypatch, text, expected):
    monkeypatch.setenv(P.MAX_BYTES_ENV, text)
    assert P.get_memory_limit() == expected


def test_environment_variable_is_used_and_set_memory_limit_wins(monkeypatch):
    monkeypatch.setenv(P.MAX_BYTES_ENV, "1M")
    with pytest.raises(ParameterError, match=r"limit of 1\.0 MiB"):
        SpatialPooler(input_dimensions=1000, column_dimensions=2048)
    P.set_memory_limit(1 << 30)
    SpatialPooler(input_dimensions=1000, column_dimensions=2048)


@pytest.mark.parametrize("text", ["lots", "-5", "0", "8X"])
def test_bad_environment_variable_is_named(monkeypatch, text):
    monkeypatch.setenv(P.MAX_BYTES_ENV, text)
    with pytest.raises(ParameterError, match=P.MAX_BYTES_ENV):
        P.get_memory_limit()


@pytest.mark.parametrize("value", [0, -1, 2.5, "8G", True])
def test_set_memory_limit_checks_its_argument(value):
    with pytest.raises(ParameterError, match="nbytes"):
        P.set_memory_limit(value)


def test_index_width_is_refused_with_a_clear_message():
    with pytest.raises(ParameterError, match=r"int32: at most 2147483647"):
        SpatialPooler(input_dimensions=(2**16, 2**16), column_dimensions=16)
    with pytest.raises(ParameterError, match="column_dimensions"):
        SpatialPooler(input_dimensions=100, column_dimensions=(2**31,))
    with pytest.raises(ParameterError, match=r"2\*\*31"):
        TemporalMemory(column_dimensions=2**26, cells_per_column=32)
    with pytest.raises(ParameterError, match="column_dimensions"):
        TemporalPooler(input_size=100, column_dimensions=(2**31,))


def test_predictor_refuses_a_label_whose_weights_cannot_fit():
    p = Predictor(steps=(1,), input_size=10**5)
    p.learn(SDR(10**5, [1, 2, 3]), 1)
    tracemalloc.start()
    try:
        with pytest.raises(ParameterError, match="label"):
            p.learn(SDR(10**5, [1, 2, 3]), 10**8)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < SMALL_BYTES


def test_estimates_do_not_allocate_what_they_estimate():
    from htmkit.spatial_pooler import SpatialPoolerParams
    from htmkit.temporal_memory import TemporalMemoryParams

    sp = SpatialPoolerParams(input_dimensions=(1000,), column_dimensions=(2048,))
    tm = TemporalMemoryParams(column_dimensions=(2048,))
    assert 0 < sum(sp.estimated_bytes().values()) < P.DEFAULT_MAX_BYTES
    assert 0 < tm.estimated_bytes() < P.DEFAULT_MAX_BYTES


def test_eye_upsample_that_cannot_fit_is_refused():
    """Found by the fuzzing campaign: a saved ``upsample`` of 2**31 loaded, then the first
    image asked numpy for an impossible array (a ValueError, not an HTMKitError)."""
    from htmkit.vision.hierarchy import EyeParams

    with pytest.raises(ParameterError, match="upsample"):
        EyeParams(image_shape=(8, 8), upsample=2**31)
    assert EyeParams(image_shape=(8, 8), upsample=3).retina_shape == (24, 24)
