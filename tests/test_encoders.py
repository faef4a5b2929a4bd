"""Tests of htmkit.encoders."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htmkit.encoders import (
    RDSE,
    CategoryEncoder,
    CategoryEncoderParams,
    DateEncoder,
    DateEncoderParams,
    Encoder,
    ImageEncoder,
    ImageEncoderParams,
    MultiEncoder,
    RDSEParams,
    ScalarEncoder,
    ScalarEncoderParams,
    is_missing,
)
from htmkit.encoders.rdse import hash64
from htmkit.errors import FormatError, InputError, ParameterError
from htmkit.sdr import SDR

FAST = settings(max_examples=60, deadline=None)


def scalar(**kw):
    base = dict(minimum=0.0, maximum=100.0, size=200, active_bits=21)
    base.update(kw)
    return ScalarEncoder(**base)


# ---------------------------------------------------------------------------------- base
def test_missing_detection():
    for v in (None, float("nan"), np.float32("nan"), pd.NA, pd.NaT, np.datetime64("NaT")):
        assert is_missing(v)
    for v in (0, 0.0, "", "nan", np.datetime64("2020-01-01")):
        assert not is_missing(v)


def test_params_and_kwargs_are_exclusive():
    p = ScalarEncoderParams(minimum=0, maximum=1, size=20, active_bits=3)
    assert ScalarEncoder(p).params is p
    with pytest.raises(ParameterError, match="not both"):
        ScalarEncoder(p, size=30)
    with pytest.raises(ParameterError, match="ScalarEncoderParams"):
        ScalarEncoder(RDSEParams(size=100, active_bits=5, resolution=1))


@pytest.mark.parametrize(
    "cls, params",
    [
        (ScalarEncoder, ScalarEncoderParams(minimum=0, maximum=1, size=20, active_bits=3)),
        (RDSE, RDSEParams(size=100, active_bits=5, resolution=1)),
        (DateEncoder, DateEncoderParams(weekend_width=3)),
        (CategoryEncoder, CategoryEncoderParams(categories=("a",), active_bits=3)),
        (ImageEncoder, ImageEncoderParams(image_shape=(3, 4))),
    ],
)
def test_params_are_frozen_dataclasses(cls, params):
    import dataclasses

    enc = cls(params)
    assert enc.params == params and enc.size > 0
    field = dataclasses.fields(params)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(params, field, 1)


def test_all_encoders_are_encoders():
    for cls in (ScalarEncoder, RDSE, DateEncoder, CategoryEncoder, MultiEncoder, ImageEncoder):
        assert issubclass(cls, Encoder)


# ---------------------------------------------------------------------------------- scalar
def test_scalar_basic_shape_and_block():
    enc = scalar()
    sdr = enc.encode(37.5)
    assert sdr.shape == (200,) == enc.dimensions and enc.size == 200
    assert sdr.num_active == 21
    idx = sdr.indices
    assert np.all(np.diff(idx) == 1)  # contiguous
    assert enc.encode(0).indices[0] == 0
    assert enc.encode(100).indices[-1] == 199
    assert enc.encode(37.5) == sdr
    assert enc.encode(np.float32(37.5)) == sdr
    assert enc.encode(np.array(37.5)) == sdr


@FAST
@given(st.floats(0, 100), st.floats(0, 100), st.floats(0, 100))
def test_scalar_nearer_values_overlap_more(a, b, c):
    enc = scalar()
    (near, d_near), (far, d_far) = sorted([(b, abs(a - b)), (c, abs(a - c))], key=lambda t: t[1])
    ov_near = enc.encode(a).overlap(enc.encode(near))
    ov_far = enc.encode(a).overlap(enc.encode(far))
    if (near - a) * (far - a) >= 0:  # same side of a: exact monotonicity
        assert ov_near >= ov_far
    else:  # opposite sides: up to one bucket of rounding
        assert ov_near >= ov_far - 1
    assert ov_near == max(0, 21 - abs(enc.bucket(a) - enc.bucket(near)))


@FAST
@given(st.floats(0, 100))
def test_scalar_same_value_same_sdr(x):
    enc = scalar()
    assert enc.encode(x) == enc.encode(float(x))
    assert enc.encode(x).num_active == 21


def test_scalar_resolution_and_radius():
    enc = ScalarEncoder(minimum=0, maximum=10, resolution=0.5, active_bits=4)
    assert enc.num_buckets == 21 and enc.size == 24 and enc.resolution == 0.5
    assert enc.encode(0).overlap(enc.encode(0.5)) == 3
    assert enc.encode(0).overlap(enc.encode(2.0)) == 0
    enc2 = ScalarEncoder(minimum=0, maximum=10, radius=2.0, active_bits=4)
    assert enc2.resolution == 0.5 and enc2.radius == 2.0
    assert enc2.encode(3.3) == enc.encode(3.3)


def test_scalar_range_and_clip():
    enc = scalar()
    with pytest.raises(InputError, match="outside"):
        enc.encode(100.5)
    with pytest.raises(InputError, match="outside"):
        enc.encode(-math.inf)
    clipped = scalar(clip=True)
    assert clipped.encode(1e9) == clipped.encode(100)
    assert clipped.encode(-5) == clipped.encode(0)
    assert clipped.encode(math.inf) == clipped.encode(100)


def test_scalar_periodic_wraps():
    enc = ScalarEncoder(minimum=0, maximum=24, size=48, active_bits=6, periodic=True)
    assert enc.encode(0) == enc.encode(24) == enc.encode(48)
    assert enc.encode(-1) == enc.encode(23)
    # 23.5 and 0.5 are one hour apart across the wrap: they overlap like 12 and 13
    assert enc.encode(23.5).overlap(enc.encode(0.5)) == enc.encode(12).overlap(enc.encode(13))
    assert enc.encode(23.5).overlap(enc.encode(0.5)) == 4  # 2 buckets of 0.5 h apart
    wrapped = enc.encode(23.5)
    assert wrapped.num_active == 6 and 0 in wrapped.indices and 47 in wrapped.indices
    assert enc.encode(0).overlap(enc.encode(12)) == 0
    with pytest.raises(InputError):
        enc.encode(math.inf)


@FAST
@given(st.floats(0, 24, exclude_max=True), st.floats(0, 24, exclude_max=True))
def test_scalar_periodic_overlap_depends_on_circular_distance(a, b):
    enc = ScalarEncoder(minimum=0, maximum=24, size=96, active_bits=12, periodic=True)
    d = abs(a - b)
    d = min(d, 24 - d)
    ov = enc.encode(a).overlap(enc.encode(b))
    # buckets are 0.25 wide: overlap is active_bits - bucket distance (rounding: +/- 1)
    expected = max(0, 12 - d / 0.25)
    assert abs(ov - expected) <= 1.0 + 1e-9


def test_scalar_missing_and_types():
    enc = scalar()
    for v in (None, float("nan"), np.nan, pd.NA):
        sdr = enc.encode(v)
        assert sdr.num_active == 0 and sdr.shape == enc.dimensions
    for v in ("12", True, [1.0], {"a": 1}):
        with pytest.raises(TypeError, match="ScalarEncoder"):
            enc.encode(v)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(minimum="a"), "minimum"),
        (dict(maximum=-1.0), "maximum"),
        (dict(active_bits=0), "active_bits"),
        (dict(active_bits=2.5), "active_bits"),
        (dict(size=21), "size"),
        (dict(size=None), "size, resolution or radius"),
        (dict(resolution=1.0), "size, resolution"),
        (dict(size=None, resolution=-1.0), "resolution"),
        (dict(size=None, resolution=1000.0), "resolution"),
        (dict(size=None, radius=0.0), "radius"),
        (dict(periodic="yes"), "periodic"),
        (dict(clip=1), "clip"),
        (dict(size=None, resolution=1e-12), "resolution"),
    ],
)
def test_scalar_bad_parameters(kwargs, name):
    base = dict(minimum=0.0, maximum=100.0, size=200, active_bits=21)
    base.update(kwargs)
    with pytest.raises(ParameterError, match=name):
        ScalarEncoder(**base)


def test_scalar_periodic_radius_too_large():
    with pytest.raises(ParameterError, match="radius"):
        ScalarEncoder(minimum=0, maximum=1, radius=1.0, active_bits=10, periodic=True)


# ---------------------------------------------------------------------------------- RDSE
def rdse(**kw):
    base = dict(size=1000, active_bits=40, resolution=1.0, seed=7)
    base.update(kw)
    return RDSE(**base)


def test_rdse_deterministic_per_seed():
    a, b = rdse(), rdse()
    for x in (0.0, 1.5, -300.25, 1e6):
        assert a.encode(x) == b.encode(x)
    c = rdse(seed=8)
    assert a.encode(5.0) != c.encode(5.0)
    assert a.encode(5.0).overlap(c.encode(5.0)) < 10


@FAST
@given(st.floats(-1e9, 1e9))
def test_rdse_sparsity_exact(x):
    enc = rdse(size=200, active_bits=30)  # small size: collisions are common here
    sdr = enc.encode(x)
    assert sdr.num_active == 30 and sdr.shape == (200,)
    assert enc.encode(x) == sdr


def test_rdse_collisions_resolved_exactly():
    enc = RDSE(size=50, active_bits=40, resolution=1.0, seed=3)  # nearly full: many collisions
    for b in range(-50, 50):
        assert enc.encode(b + 0.5).num_active == 40


def test_rdse_overlap_falls_smoothly_and_vanishes():
    enc = rdse(size=2000, active_bits=40)
    base = enc.encode(0.0)
    overlaps = [base.overlap(enc.encode(float(k))) for k in range(0, 60)]
    assert overlaps[0] == 40
    for k in range(1, 40):
        assert abs(overlaps[k] - (40 - k)) <= 2  # smooth: about active_bits - distance
    assert all(overlaps[k] >= overlaps[k + 5] for k in range(0, 35))
    # beyond active_bits * resolution only chance collisions (~ 40 * 40 / 2000 = 0.8 bits)
    far = [base.overlap(enc.encode(float(k))) for k in range(40, 400)]
    assert np.mean(far) < 2.0 and max(far) <= 6


@FAST
@given(st.floats(-1e6, 1e6), st.floats(0, 50), st.floats(0, 50))
def test_rdse_nearer_values_overlap_more_on_average(x, d1, d2):
    # exact monotonicity holds up to rare collisions: allow a slack of 2 bits
    enc = rdse()
    near, far = sorted((d1, d2))
    a = enc.encode(x)
    assert a.overlap(enc.encode(x + near)) + 2 >= a.overlap(enc.encode(x + far))


def test_rdse_sparsity_and_radius_alternatives():
    enc = RDSE(size=1000, sparsity=0.02, radius=10.0, seed=1)
    assert enc.active_bits == 20 and enc.resolution == 0.5 and enc.radius == 10.0
    assert enc.encode(3.0).num_active == 20


def test_rdse_hash_is_vectorised_and_well_mixed():
    keys = np.arange(-1000, 1000, dtype=np.int64)
    h = hash64(keys, 5)
    assert h.dtype == np.uint64 and np.unique(h).size == keys.size
    assert np.array_equal(hash64(keys, 5), h) and not np.array_equal(hash64(keys, 6), h)
    bits = np.unpackbits(h.view(np.uint8)).mean()
    assert 0.45 < bits < 0.55
    counts = np.bincount((h % np.uint64(10)).astype(np.int64), minlength=10)
    assert counts.min() > 150


def test_rdse_bits_follow_the_documented_hash():
    enc = rdse(size=100_000, active_bits=10)  # large size: no collisions in these buckets
    for x, b in ((3.7, 3), (-2.5, -3), (0.0, 0)):
        assert enc.bucket(x) == b
        expected = np.sort(hash64(np.arange(b, b + 10), 7) % np.uint64(100_000))
        assert np.array_equal(enc.encode(x).indices, expected)


def test_rdse_missing_types_and_range():
    enc = rdse()
    assert enc.encode(None).num_active == 0 and enc.encode(np.nan).num_active == 0
    with pytest.raises(TypeError, match="RDSE"):
        enc.encode("3")
    with pytest.raises(InputError):
        enc.encode(math.inf)
    with pytest.raises(InputError, match="too large"):
        enc.encode(1e300)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(size=0), "size"),
        (dict(active_bits=1000), "active_bits"),
        (dict(active_bits=None), "active_bits or sparsity"),
        (dict(sparsity=0.1), "active_bits or sparsity"),
        (dict(active_bits=None, sparsity=1.5), "sparsity"),
        (dict(active_bits=None, sparsity=0.0001), "sparsity"),
        (dict(resolution=None), "resolution or radius"),
        (dict(radius=2.0), "resolution or radius"),
        (dict(resolution=0.0), "resolution"),
        (dict(resolution=None, radius=-1.0), "radius"),
        (dict(seed=-1), "seed"),
        (dict(seed="x"), "seed"),
    ],
)
def test_rdse_bad_parameters(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        rdse(**kwargs)


# ---------------------------------------------------------------------------------- date
def date_encoder(**kw):
    base = dict(season_width=10, day_of_week_width=10, weekend_width=10, holiday_width=10,
                time_of_day_width=21)
    base.update(kw)
    return DateEncoder(**base)


def test_date_layout_and_input_types():
    enc = date_encoder()
    assert list(enc.offsets) == ["season", "day_of_week", "weekend", "holiday", "time_of_day"]
    sl = enc.field_slices
    assert sl["time_of_day"].stop == enc.size
    t = dt.datetime(2021, 3, 14, 15, 30)
    ref = enc.encode(t)
    assert ref.num_active == 10 + 10 + 10 + 10 + 21
    assert enc.encode(pd.Timestamp(t)) == ref
    assert enc.encode(np.datetime64("2021-03-14T15:30")) == ref
    assert enc.encode("2021-03-14T15:30:00") == ref
    assert enc.encode("2021-03-14 15:30") == ref
    assert enc.encode(dt.date(2021, 3, 14)) == enc.encode(dt.datetime(2021, 3, 14))
    for name, s in sl.items():  # each field's bits stay in its slice
        part = ref.indices[(ref.indices >= s.start) & (ref.indices < s.stop)]
        assert part.size == enc.field_encoders[name].active_bits


def test_date_weekend_vs_weekday():
    enc = DateEncoder(weekend_width=8)
    assert enc.size == 16
    sat, sun = enc.encode("2024-06-01"), enc.encode("2024-06-02 23:00")
    mon, fri = enc.encode("2024-06-03"), enc.encode("2024-06-07 22:00")
    assert sat == sun and mon == fri
    assert sat.overlap(mon) == 0


def test_date_time_of_day_nearby_overlaps():
    enc = DateEncoder(time_of_day_width=21, time_of_day_radius=4)
    t = dt.datetime(2020, 5, 5, 10, 0)
    o = [enc.encode(t).overlap(enc.encode(t + dt.timedelta(hours=h))) for h in (0, 1, 2, 3, 6)]
    assert o[0] == 21 and o[0] > o[1] > o[2] > o[3] and o[4] == 0
    # wraps around midnight
    late, early = enc.encode("2020-05-05T23:30"), enc.encode("2020-05-06T00:30")
    assert abs(late.overlap(early) - o[1]) <= 1  # same 1 h distance (bucket rounding: +/- 1)
    # the date does not matter for time_of_day alone
    assert enc.encode("2020-05-05T10:00") == enc.encode("1999-01-01T10:00")


def test_date_season_and_day_of_week():
    enc = DateEncoder(season_width=12, day_of_week_width=7)
    s = enc.field_slices
    a, b, c = enc.encode("2020-06-01"), enc.encode("2020-06-10"), enc.encode("2020-12-01")
    season = lambda x: x.indices[(x.indices >= s["season"].start) & (x.indices < s["season"].stop)]  # noqa: E731
    assert np.intersect1d(season(a), season(b)).size > np.intersect1d(season(a), season(c)).size
    vals = enc.field_values("2020-06-03T12:00")  # a Wednesday
    assert vals is not None and vals["day_of_week"] == pytest.approx(2.5)
    assert vals["season"] == pytest.approx(154.5)


def test_date_holiday_ramp():
    enc = DateEncoder(holiday_width=10, holidays=[(12, 25), (2021, 7, 4), dt.date(2022, 2, 1)])
    v = lambda s: enc.holiday_value(pd.Timestamp(s).to_pydatetime())  # noqa: E731
    assert v("2020-12-25T00:00") == 1.0 and v("2020-12-25T23:59") == 1.0
    assert v("2020-12-24T12:00") == pytest.approx(0.5)
    assert v("2020-12-26T06:00") == pytest.approx(0.75)
    assert v("2020-12-20") == 0.0 and v("2020-12-28") == 0.0
    assert v("2021-07-04T10:00") == 1.0 and v("2022-07-04T10:00") == 0.0
    assert v("2022-02-01") == 1.0
    assert enc.encode("2020-12-25").overlap(enc.encode("2020-12-20")) == 0
    mid = enc.encode("2020-12-24T12:00")
    assert 0 < mid.overlap(enc.encode("2020-12-25")) < 10
    # default holidays include January 1, found across the year boundary
    dflt = DateEncoder(holiday_width=5)
    assert dflt.holiday_value(dt.datetime(2020, 12, 31, 18)) == pytest.approx(0.75)
    assert dflt.holiday_value(dt.datetime(2021, 1, 1, 18)) == 1.0
    wide = DateEncoder(holiday_width=5, holiday_radius=4.0)
    assert wide.holiday_value(dt.datetime(2020, 12, 23)) == pytest.approx(0.5)


def test_date_missing_and_errors():
    enc = date_encoder()
    for v in (None, pd.NaT, np.datetime64("NaT"), float("nan")):
        assert enc.encode(v).num_active == 0
    for v in (12345, 3.5, [2020, 1, 1]):
        with pytest.raises(TypeError, match="DateEncoder"):
            enc.encode(v)
    with pytest.raises(InputError, match="ISO"):
        enc.encode("not a date")


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(), "at least one"),
        (dict(season_width=-1), "season_width"),
        (dict(time_of_day_width=5, time_of_day_radius=13), "time_of_day_radius"),
        (dict(day_of_week_width=5, day_of_week_radius=0), "day_of_week_radius"),
        (dict(season_width=5, season_radius=400), "season_radius"),
        (dict(holiday_width=5, holiday_radius="x"), "holiday_radius"),
        (dict(holiday_width=5, holidays=[(13, 1)]), r"holidays\[0\]"),
        (dict(holiday_width=5, holidays=[(1, 1), (2, 30)]), r"holidays\[1\]"),
        (dict(holiday_width=5, holidays="12-25"), "holidays"),
        (dict(weekend_width=2.5), "weekend_width"),
    ],
)
def test_date_bad_parameters(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        DateEncoder(**kwargs)


# ---------------------------------------------------------------------------------- category
def test_category_blocks_do_not_overlap():
    enc = CategoryEncoder(categories=["red", "green", 3, "3"], active_bits=7)
    assert enc.size == 28
    sdrs = [enc.encode(c) for c in ("red", "green", 3, "3")]
    for i, a in enumerate(sdrs):
        assert a.num_active == 7
        for b in sdrs[i + 1:]:
            assert a.overlap(b) == 0
    assert enc.encode(np.int64(3)) == sdrs[2] and enc.encode(np.str_("red")) == sdrs[0]
    assert enc.decode(sdrs[3]) == "3" and enc.decode(enc.encode(None)) is None


def test_category_unknown_handling():
    strict = CategoryEncoder(categories=["a", "b"], active_bits=5)
    with pytest.raises(InputError, match="unknown category 'c'"):
        strict.encode("c")
    lenient = CategoryEncoder(categories=["a", "b"], active_bits=5, unknown="encode")
    assert lenient.size == 15
    unk = lenient.encode("c")
    assert unk == lenient.encode(99) and list(unk.indices) == [10, 11, 12, 13, 14]
    assert unk.overlap(lenient.encode("a")) == 0 and unk.overlap(lenient.encode("b")) == 0
    assert lenient.categories == ("a", "b")


def test_category_grow():
    enc = CategoryEncoder(categories=["x"], active_bits=4, grow=True, max_categories=3)
    assert enc.size == 12
    assert list(enc.encode("y").indices) == [4, 5, 6, 7]
    assert list(enc.encode("z").indices) == [8, 9, 10, 11]
    assert enc.categories == ("x", "y", "z")
    with pytest.raises(InputError, match="max_categories"):
        enc.encode("w")
    grow_unk = CategoryEncoder(active_bits=4, grow=True, max_categories=1, unknown="encode")
    assert grow_unk.encode("a").indices[0] == 0
    assert list(grow_unk.encode("b").indices) == [4, 5, 6, 7]  # full: unknown block


def test_category_missing_and_types():
    enc = CategoryEncoder(categories=[1, 2], active_bits=3)
    assert enc.encode(None).num_active == 0 and enc.encode(float("nan")).num_active == 0
    for v in (1.0, True, [1], b"1"):
        with pytest.raises(TypeError, match="CategoryEncoder"):
            enc.encode(v)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(categories=[]), "categories"),
        (dict(categories="abc"), "categories"),
        (dict(categories=["a", "a"]), "more than once"),
        (dict(categories=["a", 1.5]), r"categories\[1\]"),
        (dict(categories=["a"], active_bits=0), "active_bits"),
        (dict(categories=["a"], unknown="ignore"), "unknown"),
        (dict(categories=["a"], grow=True), "max_categories"),
        (dict(categories=["a", "b"], grow=True, max_categories=1), "max_categories"),
        (dict(categories=["a"], max_categories=4), "max_categories"),
        (dict(categories=["a"], grow="no"), "grow"),
    ],
)
def test_category_bad_parameters(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        CategoryEncoder(**kwargs)


# ---------------------------------------------------------------------------------- multi
def multi():
    return MultiEncoder({
        "value": scalar(),
        "when": DateEncoder(time_of_day_width=11),
        "kind": CategoryEncoder(categories=["a", "b"], active_bits=5, unknown="encode"),
    })


def test_multi_offsets_and_concatenation():
    enc = multi()
    sizes = {n: e.size for n, e in enc.encoders.items()}
    assert enc.offsets == {"value": 0, "when": 200, "kind": 200 + sizes["when"]}
    assert enc.size == sum(sizes.values()) and enc.dimensions == (enc.size,)
    rec = {"value": 42.0, "when": "2020-01-01T08:00", "kind": "b", "extra": object()}
    sdr = enc.encode(rec)
    assert sdr.num_active == 21 + 11 + 5
    parts = enc.split(sdr)
    for name, e in enc.encoders.items():
        assert parts[name] == e.encode(rec[name])
        s = enc.field_slices[name]
        assert np.array_equal(sdr.dense[s], e.encode(rec[name]).dense)
    assert enc.encode(pd.Series(rec)) == sdr
    row = pd.DataFrame([rec]).iloc[0]
    assert enc.encode(row) == sdr


def test_multi_missing_field_and_values():
    enc = multi()
    with pytest.raises(InputError, match="'kind'"):
        enc.encode({"value": 1.0, "when": "2020-01-01"})
    with pytest.raises(InputError, match="'kind'"):
        enc.encode(pd.Series({"value": 1.0, "when": "2020-01-01"}))
    sdr = enc.encode({"value": None, "when": "2020-01-01", "kind": "a"})
    assert enc.split(sdr)["value"].num_active == 0 and sdr.num_active == 11 + 5


def test_multi_errors_name_the_field():
    enc = multi()
    with pytest.raises(TypeError, match="'value'"):
        enc.encode({"value": "oops", "when": "2020-01-01", "kind": "a"})
    with pytest.raises(TypeError, match="'when'"):
        enc.encode({"value": 1.0, "when": 3.5, "kind": "a"})
    with pytest.raises(InputError, match="'value'"):
        enc.encode({"value": 1000.0, "when": "2020-01-01", "kind": "a"})
    with pytest.raises(TypeError, match="mapping"):
        enc.encode([1.0, "2020-01-01", "a"])


def test_multi_with_image_field_flattens():
    enc = MultiEncoder([("img", ImageEncoder(image_shape=(4, 5))), ("x", scalar())])
    img = np.zeros((4, 5))
    img[1, 2] = 1.0
    sdr = enc.encode({"img": img, "x": 0.0})
    assert sdr.shape == (220,) and 1 * 5 + 2 in sdr.indices
    assert enc.split(sdr)["img"].shape == (4, 5)


@pytest.mark.parametrize(
    "fields, name",
    [
        ({}, "at least one"),
        ({"a": 3}, "'a'"),
        ([("", None)], "name"),
        ([("a", ScalarEncoder(minimum=0, maximum=1, size=10, active_bits=2))] * 2, "'a'"),
        ("abc", "fields"),
    ],
)
def test_multi_bad_parameters(fields, name):
    with pytest.raises(ParameterError, match=name):
        MultiEncoder(fields)


# ---------------------------------------------------------------------------------- image
def gradient_image():
    y, x = np.mgrid[0:16, 0:16]
    return (x / 15.0).astype(np.float64)


def test_image_shape_and_fixed_threshold():
    enc = ImageEncoder(image_shape=(16, 16), threshold=0.5)
    img = gradient_image()
    sdr = enc.encode(img)
    assert sdr.shape == (16, 16) == enc.dimensions
    assert np.array_equal(sdr.dense, img > 0.5)
    u8 = (img * 255).round().astype(np.uint8)
    assert enc.encode(u8) == enc.encode(u8 / 255.0)
    assert enc.encode(img > 0.5) == sdr
    with pytest.raises(InputError, match="shape"):
        enc.encode(np.zeros((16, 15)))
    with pytest.raises(InputError, match="shape"):
        enc.encode(np.zeros((16, 16, 3)))
    bad = img.copy()
    bad[3, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        enc.encode(bad)
    with pytest.raises(TypeError, match="ImageEncoder"):
        enc.encode(np.full((16, 16), "a"))
    assert enc.encode(None).num_active == 0


def test_image_mean_and_local_thresholds():
    img = gradient_image()
    mean_enc = ImageEncoder(image_shape=(16, 16), threshold_mode="mean")
    assert np.array_equal(mean_enc.encode(img).dense, img > img.mean())
    assert mean_enc.encode(np.full((16, 16), 0.3)).num_active == 0  # flat: nothing above mean
    local = ImageEncoder(image_shape=(16, 16), threshold_mode="local", window=5)
    assert local.encode(np.full((16, 16), 0.3)).num_active == 0
    # a bright dot on a dark background, and the same dot 10x dimmer: local finds both
    dot = np.zeros((16, 16))
    dot[8, 8] = 1.0
    assert local.encode(dot).coordinates[0].tolist() == [8]
    assert local.encode(dot * 0.1) == local.encode(dot)
    fixed = ImageEncoder(image_shape=(16, 16), threshold=0.5)
    assert fixed.encode(dot * 0.1).num_active == 0


def test_image_edge_and_orientation_channels():
    enc = ImageEncoder(image_shape=(16, 16), edges=True, orientations=4)
    assert enc.dimensions == (16, 16, 6)
    assert enc.channels == ("intensity", "edges", "orientation_0", "orientation_1",
                            "orientation_2", "orientation_3")
    step = np.zeros((16, 16))
    step[:, 8:] = 1.0  # vertical edge: horizontal gradient
    dense = enc.encode(step).dense
    edges = dense[..., 1]
    assert edges[:, 7:9].all() and edges.sum() == edges[:, 7:9].sum()
    orient = dense[..., 2:]
    assert np.array_equal(orient.any(axis=-1), edges)  # each edge pixel in one orientation
    assert (orient.sum(axis=-1) <= 1).all()
    assert orient[..., 0].sum() == edges.sum()  # gradient along x: angle 0 -> bin 0
    horiz = enc.encode(step.T).dense[..., 2:]
    assert horiz[..., 2].sum() == edges.sum()  # gradient along y: angle 90 deg -> bin 2
    only_edges = ImageEncoder(image_shape=(16, 16), intensity=False, edges=True)
    assert only_edges.dimensions == (16, 16)
    assert np.array_equal(only_edges.encode(step).dense, edges)
    weak = ImageEncoder(image_shape=(16, 16), intensity=False, edges=True, edge_threshold=0.5)
    assert weak.encode(step * 0.3).num_active == 0


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(image_shape=(0, 4)), r"image_shape\[0\]"),
        (dict(image_shape=(4, 4, 3)), "image_shape"),
        (dict(image_shape="4x4"), "image_shape"),
        (dict(threshold_mode="otsu"), "threshold_mode"),
        (dict(threshold=float("nan")), "threshold"),
        (dict(window=1), "window"),
        (dict(edge_threshold=-1), "edge_threshold"),
        (dict(orientations=-2), "orientations"),
        (dict(intensity=False), "at least one channel"),
        (dict(edges="yes"), "edges"),
    ],
)
def test_image_bad_parameters(kwargs, name):
    base = dict(image_shape=(8, 8))
    base.update(kwargs)
    with pytest.raises(ParameterError, match=name):
        ImageEncoder(**base)


# ---------------------------------------------------------------------------------- persistence
def _roundtrip(enc, tmp_path, name):
    path = enc.save(tmp_path / f"{name}.htm")
    return type(enc).load(path)


def test_save_load_round_trip(tmp_path):
    values = [0.0, 3.3, 50.0, 99.9, None]
    sc = scalar(periodic=True)
    sc2 = _roundtrip(sc, tmp_path, "scalar")
    assert sc2.params == sc.params and all(sc.encode(v) == sc2.encode(v) for v in values)

    rd = RDSE(size=500, sparsity=0.05, radius=3.0, seed=2**63 + 5)
    rd2 = _roundtrip(rd, tmp_path, "rdse")
    assert rd2.params == rd.params
    assert all(rd.encode(v) == rd2.encode(v) for v in [-1e5, *values])

    de = DateEncoder(season_width=5, holiday_width=4, holidays=[(7, 4), dt.date(2020, 5, 1)],
                     time_of_day_width=9)
    de2 = _roundtrip(de, tmp_path, "date")
    assert de2.params == de.params
    for t in ("2020-05-01T03:00", "2021-07-03T20:00", "1999-12-31"):
        assert de.encode(t) == de2.encode(t)

    ca = CategoryEncoder(categories=["a", 2], active_bits=3, grow=True, max_categories=5,
                         unknown="encode")
    ca.encode("grown")
    ca.encode(7)
    ca2 = _roundtrip(ca, tmp_path, "cat")
    assert ca2.categories == ("a", 2, "grown", 7)
    for c in ("a", 2, "grown", 7, "new"):
        assert ca.encode(c) == ca2.encode(c)

    im = ImageEncoder(image_shape=(8, 8), threshold_mode="local", window=3, edges=True,
                      orientations=2)
    im2 = _roundtrip(im, tmp_path, "img")
    img = np.random.default_rng(0).random((8, 8))
    assert im2.params == im.params and im.encode(img) == im2.encode(img)

    mu = MultiEncoder({"x": sc, "r": rd, "d": de, "c": ca, "i": im,
                       "inner": MultiEncoder({"y": scalar()})})
    mu2 = _roundtrip(mu, tmp_path, "multi")
    rec = {"x": 12.0, "r": 7.5, "d": "2020-07-04", "c": "grown", "i": img,
           "inner": {"y": 5.0}}
    assert mu2.offsets == mu.offsets and mu2.encode(rec) == mu.encode(rec)


def test_load_wrong_class_fails(tmp_path):
    path = scalar().save(tmp_path / "s.htm")
    with pytest.raises(FormatError):
        RDSE.load(path)


# ---------------------------------------------------------------------------------- speed
def test_encode_is_fast_and_cached():
    import time

    sc, rd = scalar(), rdse()
    assert sc.encode(10.0) is sc.encode(10.0)  # cached bucket SDR
    assert rd.encode(10.0) is rd.encode(10.2)
    xs = [float(i % 100) for i in range(5000)]
    t = time.perf_counter()
    for x in xs:
        sc.encode(x)
        rd.encode(x)
    per_call = (time.perf_counter() - t) / (2 * len(xs))
    assert per_call < 50e-6
    assert isinstance(sc.encode(1.0), SDR)
