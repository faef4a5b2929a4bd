"""Vision infrastructure: IDX/MNIST and digits loaders, the eye, the test protocols, the baselines
(kNN, linear readout, CNN) and the benchmark runner/CLI."""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htmkit.bench.vision_protocols import (
    few_shot_indices,
    few_shot_subsets,
    make_protocols,
    protocol_specs,
    scaled_occlusions,
    scaled_shifts,
)
from htmkit.datasets import default_mnist_dir, load_digits_dataset, load_mnist, read_idx
from htmkit.errors import DataError, InputError, ParameterError
from htmkit.vision import Eye, Movie
from htmkit.vision.transforms import occlude, salt_and_pepper, shift_images, translate


# ------------------------------------------------------------------------------------ IDX files
def _idx_bytes(arr: np.ndarray, magic: int | None = None) -> bytes:
    arr = np.asarray(arr, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 | arr.ndim
    head = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return head + arr.tobytes()


def _write_mnist(folder, images, labels, kind="train", gz=True, img_magic=None, lab_magic=None):
    folder.mkdir(parents=True, exist_ok=True)
    prefix = "train" if kind == "train" else "t10k"
    for name, data in (
        (f"{prefix}-images-idx3-ubyte", _idx_bytes(images, img_magic)),
        (f"{prefix}-labels-idx1-ubyte", _idx_bytes(labels, lab_magic)),
    ):
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


@pytest.fixture
def small_set():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (7, 5, 4), dtype=np.uint8), rng.integers(0, 10, 7).astype(np.uint8)


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_gzip_and_raw(tmp_path, small_set, gz):
    images, labels = small_set
    _write_mnist(tmp_path, images, labels, "test", gz=gz)
    x, y = load_mnist(tmp_path, kind="test")
    assert x.dtype == np.uint8 and x.shape == (7, 5, 4)
    assert y.dtype == np.int64 and y.shape == (7,)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)
    x2, y2 = load_mnist(tmp_path, kind="test", limit=3)
    np.testing.assert_array_equal(x2, images[:3])
    np.testing.assert_array_equal(y2, labels[:3])


def test_idx_bad_magic(tmp_path, small_set):
    images, labels = small_set
    _write_mnist(tmp_path, images, labels, img_magic=2049)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz.*bad magic number 2049"):
        load_mnist(tmp_path)
    _write_mnist(tmp_path / "b", images, labels, lab_magic=0x12340801)
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz.*bad magic"):
        load_mnist(tmp_path / "b")


def test_idx_truncated_and_trailing(tmp_path, small_set):
    images, labels = small_set
    good = _idx_bytes(images)
    (tmp_path / "short").write_bytes(good[:-5])
    with pytest.raises(DataError, match=r"short: truncated data.*needs 140 bytes, file has 135"):
        read_idx(tmp_path / "short")
    (tmp_path / "head").write_bytes(good[:9])
    with pytest.raises(DataError, match="head: truncated header"):
        read_idx(tmp_path / "head")
    (tmp_path / "long").write_bytes(good + b"xx")
    with pytest.raises(DataError, match="long: 2 unexpected trailing bytes"):
        read_idx(tmp_path / "long")
    (tmp_path / "cut.gz").write_bytes(gzip.compress(good)[:-12])
    with pytest.raises(DataError, match=r"cut\.gz: corrupted or truncated gzip"):
        read_idx(tmp_path / "cut.gz")
    (tmp_path / "notgz.gz").write_bytes(good)
    with pytest.raises(DataError, match=r"notgz\.gz"):
        read_idx(tmp_path / "notgz.gz")
    (tmp_path / "f32").write_bytes(b"\x00\x00\x0d\x01" + (4).to_bytes(4, "big") + bytes(16))
    with pytest.raises(DataError, match="unsupported IDX element type 0x0d"):
        read_idx(tmp_path / "f32")


def test_mnist_missing_and_mismatched(tmp_path, small_set):
    images, labels = small_set
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: file not found"):
        load_mnist(tmp_path / "nothing")
    _write_mnist(tmp_path, images, labels[:5])
    with pytest.raises(DataError, match="5 labels but train-images-idx3-ubyte.gz has 7 images"):
        load_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: file not found"):
        load_mnist(tmp_path)
    with pytest.raises(ParameterError):
        load_mnist(tmp_path, kind="valid")
    with pytest.raises(ParameterError):
        load_mnist(tmp_path, limit=0)


def _mnist_available() -> bool:
    d = default_mnist_dir()
    return all(
        (d / f).exists() or (d / (f + ".gz")).exists()
        for f in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    )


def test_real_mnist_test_split():
    if not _mnist_available():
        pytest.skip(f"MNIST not found in {default_mnist_dir()} (../shared/data/mnist)")
    x, y = load_mnist(kind="test", limit=500)
    assert x.shape == (500, 28, 28) and x.dtype == np.uint8 and x.max() == 255
    assert y.shape == (500,) and set(np.unique(y)) == set(range(10))


def test_digits_dataset():
    x, y = load_digits_dataset()
    assert x.shape == (1797, 8, 8) and x.dtype == np.uint8
    assert x.min() == 0 and x.max() == 255 and y.dtype == np.int64
    assert np.bincount(y).min() >= 170
    x2, _ = load_digits_dataset(scale=2)
    np.testing.assert_array_equal(x2, np.kron(x, np.ones((1, 2, 2), np.uint8)))
    x3, _ = load_digits_dataset(scale=2, method="bilinear")
    assert x3.shape == (1797, 16, 16) and x3.dtype == np.uint8
    with pytest.raises(ParameterError):
        load_digits_dataset(scale=0)


# ------------------------------------------------------------------------------------ the eye
def _check_movie(m: Movie, image: np.ndarray) -> None:
    top, left = m.pad
    H, W = m.padded_shape
    h, w = m.window_shape
    assert ((m.positions >= 0) & (m.positions <= [H - h, W - w])).all()
    padded = np.zeros((H, W), image.dtype)
    padded[top : top + image.shape[0], left : left + image.shape[1]] = image
    for v, (r, c) in zip(m.views, m.positions, strict=True):
        np.testing.assert_array_equal(v, padded[r : r + h, c : c + w])


@pytest.mark.parametrize("mode", ["saccades", "sweeps", "jitter"])
def test_eye_deterministic_and_inside(mode):
    img = np.random.default_rng(1).integers(1, 256, (12, 10), dtype=np.uint8)
    a = Eye((6, 5), mode=mode, n_views=25, seed=7).movie(img, key=3)
    b = Eye((6, 5), mode=mode, n_views=25, seed=7).movie(img, key=3)
    c = Eye((6, 5), mode=mode, n_views=25, seed=8).movie(img, key=3)
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.views, b.views)
    assert not np.array_equal(a.positions, c.positions)
    assert a.views.shape == (25, 6, 5) and a.views.dtype == np.uint8 and a.mode == mode
    _check_movie(a, img)
    # the internal stream is reproducible too, and reset restarts it
    e1, e2 = Eye(6, mode=mode, n_views=8, seed=2), Eye(6, mode=mode, n_views=8, seed=2)
    s1 = [e1.movie(img).positions for _ in range(3)]
    s2 = [e2.movie(img).positions for _ in range(3)]
    for p, q in zip(s1, s2, strict=True):
        np.testing.assert_array_equal(p, q)
    e1.reset()
    np.testing.assert_array_equal(e1.movie(img).positions, s1[0])


@settings(max_examples=40, deadline=None)
@given(
    H=st.integers(3, 20),
    W=st.integers(3, 20),
    h=st.integers(1, 24),
    w=st.integers(1, 24),
    step=st.integers(1, 3),
    pad=st.one_of(st.none(), st.integers(0, 4)),
    mode=st.sampled_from(["saccades", "sweeps", "jitter"]),
    seed=st.integers(0, 1000),
)
def test_eye_views_always_inside_padded_image(H, W, h, w, step, pad, mode, seed):
    img = np.random.default_rng(seed).integers(0, 256, (H, W), dtype=np.uint8)
    eye = Eye((h, w), mode=mode, n_views=12, step=step, seed=seed, pad=pad)
    try:
        m = eye.movie(img)
    except ParameterError:
        # only sweeps refuse, and only when the window fills the padded image
        assert mode == "sweeps"
        assert m_range_zero(eye, img.shape)
        return
    _check_movie(m, img)
    if mode == "jitter":
        t, b, l, r = eye.padding(img.shape)
        R = np.array([H + t + b - h, W + l + r - w])
        assert (np.abs(m.positions - R // 2) <= step).all()


def m_range_zero(eye: Eye, shape) -> bool:
    t, b, l, r = eye.padding(shape)
    return shape[0] + t + b == eye.window_shape[0] and shape[1] + l + r == eye.window_shape[1]


def test_sweeps_move_one_pixel_per_view_and_bounce():
    img = np.zeros((28, 28), np.uint8)
    for seed in range(5):
        m = Eye(28, mode="sweeps", n_views=200, seed=seed).movie(img)
        d = m.displacements
        assert set(np.unique(np.abs(d))) <= {0, 1}
        assert (np.abs(d).sum(axis=1) > 0).all()  # moves every view
        # straight runs: the direction changes only at sweep ends or at a border (bounce)
        R = np.array(m.padded_shape) - 28
        assert m.positions.min() == 0 or m.positions.max() == R.max()
    m = Eye((4, 4), mode="sweeps", n_views=40, step=2, seed=0, pad=0).movie(np.ones((12, 12)))
    assert set(np.unique(np.abs(m.displacements))) <= {0, 2}


def test_eye_saccades_jump_and_jitter_stays_near_centre():
    img = np.ones((16, 16), np.uint8)
    m = Eye(8, mode="saccades", n_views=50, seed=0).movie(img)
    assert (np.abs(m.displacements).sum(axis=1) > 0).all()
    assert len({tuple(p) for p in m.positions}) > 20
    j = Eye(16, mode="jitter", n_views=50, step=2, seed=0).movie(img)
    assert j.pad == (2, 2) and (np.abs(j.origins) <= 2).all()


def test_eye_batch_and_errors():
    imgs = np.random.default_rng(0).integers(0, 256, (4, 8, 8), dtype=np.uint8)
    eye = Eye(8, mode="sweeps", n_views=6, seed=1)
    views, pos = eye.movies(imgs)
    assert views.shape == (4, 6, 8, 8) and pos.shape == (4, 6, 2)
    np.testing.assert_array_equal(views[2], eye.movie(imgs[2], key=2).views)
    with pytest.raises(ParameterError):
        Eye(8, mode="spiral")
    with pytest.raises(ParameterError):
        Eye((8, 0))
    with pytest.raises(ParameterError):
        Eye(8, n_views=0)
    with pytest.raises(ParameterError, match="room to move"):
        Eye(8, mode="sweeps", pad=0).movie(imgs[0])
    with pytest.raises(InputError):
        eye.movie(imgs)


# ------------------------------------------------------------------------------------ protocols
def test_scaling_of_protocol_sizes():
    assert scaled_shifts((28, 28)) == (2, 4) and scaled_occlusions((28, 28)) == (8, 12)
    assert scaled_shifts((8, 8)) == (1, 2) and scaled_occlusions((8, 8)) == (2, 3)
    assert scaled_shifts((16, 16)) == (1, 2) and scaled_occlusions((16, 16)) == (5, 7)
    names = [s.name for s in protocol_specs((28, 28))]
    assert names == [
        "clean", "shift_2", "shift_4", "salt_pepper_0.1", "salt_pepper_0.2", "salt_pepper_0.3",
        "occlusion_8", "occlusion_12",
    ]  # fmt: skip


def _manual_shift(img, dy, dx):
    H, W = img.shape
    big = np.zeros((H + 2 * H, W + 2 * W), img.dtype)
    big[H : 2 * H, W : 2 * W] = img
    return big[H - dy : 2 * H - dy, W - dx : 2 * W - dx]


def test_shifts_are_exactly_the_stated_offsets():
    rng = np.random.default_rng(0)
    imgs = rng.integers(1, 256, (300, 10, 9), dtype=np.uint8)
    for k in (2, 4):
        out, off = shift_images(imgs, k, np.random.default_rng(k))
        assert {tuple(o) for o in off} == {
            (dy, dx) for dy in (-k, 0, k) for dx in (-k, 0, k) if (dy, dx) != (0, 0)
        }
        for i in range(len(imgs)):
            np.testing.assert_array_equal(out[i], _manual_shift(imgs[i], *off[i]))
    np.testing.assert_array_equal(translate(imgs[:1], [[0, 0]]), imgs[:1])
    # make_protocols' shifted images are each one of the 8 allowed shifts of the original
    P = make_protocols(imgs[:40], seed=3)
    for name, k in (("shift_1", 1), ("shift_2", 2)):
        for i in range(40):
            cands = [
                (dy, dx) for dy in (-k, 0, k) for dx in (-k, 0, k) if (dy, dx) != (0, 0)
                if np.array_equal(P[name][i], _manual_shift(imgs[i], dy, dx))
            ]  # fmt: skip
            assert len(cands) == 1


def test_salt_and_pepper_fraction():
    imgs = np.full((200, 28, 28), 128, np.uint8)
    for p in (0.1, 0.2, 0.3):
        out = salt_and_pepper(imgs, p, np.random.default_rng(1))
        changed = out != 128
        assert abs(changed.mean() - p) < 0.005
        assert set(np.unique(out[changed])) == {0, 255}
        assert abs((out[changed] == 255).mean() - 0.5) < 0.02
    P = make_protocols(imgs, seed=0)
    assert abs((P["salt_pepper_0.2"] != 128).mean() - 0.2) < 0.005


def test_occlusion_squares_zeroed():
    imgs = np.random.default_rng(0).integers(1, 256, (100, 28, 28), dtype=np.uint8)
    for s in (8, 12):
        out, corners = occlude(imgs, s, np.random.default_rng(s))
        assert ((corners >= 0) & (corners <= 28 - s)).all()
        for i, (r, c) in enumerate(corners):
            assert (out[i, r : r + s, c : c + s] == 0).all()
            mask = np.ones((28, 28), bool)
            mask[r : r + s, c : c + s] = False
            np.testing.assert_array_equal(out[i][mask], imgs[i][mask])
        assert ((out == 0).sum(axis=(1, 2)) == s * s).all()
    P = make_protocols(imgs, seed=0)
    assert ((P["occlusion_12"] == 0).sum(axis=(1, 2)) == 144).all()
    with pytest.raises(ParameterError):
        occlude(imgs, 29, np.random.default_rng(0))


def test_make_protocols_seeded_and_identical():
    x, _ = load_digits_dataset()
    a, b, c = make_protocols(x[:200], 5), make_protocols(x[:200], 5), make_protocols(x[:200], 6)
    assert list(a) == [s.name for s in protocol_specs((8, 8))]
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
        assert a[name].dtype == np.uint8 and a[name].shape == (200, 8, 8)
    np.testing.assert_array_equal(a["clean"], x[:200])
    assert not np.array_equal(a["salt_pepper_0.1"], c["salt_pepper_0.1"])


def test_few_shot_subsets_class_counts():
    _, y = load_digits_dataset()
    subs = few_shot_subsets(y, seed=0)
    for n in (10, 100):
        idx = subs[f"few_shot_{n}"]
        assert len(np.unique(idx)) == 10 * n
        np.testing.assert_array_equal(np.bincount(y[idx], minlength=10), [n] * 10)
    np.testing.assert_array_equal(few_shot_indices(y, 10, 0), subs["few_shot_10"])
    assert not np.array_equal(few_shot_indices(y, 10, 1), subs["few_shot_10"])
    with pytest.raises(InputError, match="fewer than per_class=500"):
        few_shot_indices(y, 500)


# ------------------------------------------------------------------------------------ baselines
def _digits_split():
    from htmkit.bench.vision import load_bench_data

    return load_bench_data("digits", seed=0)


def test_knn_matches_sklearn_and_linear_learns():
    sklearn = pytest.importorskip("sklearn.neighbors")
    from htmkit.bench.vision_baselines import RawKNN, RawLinear, flatten_pixels

    xtr, ytr, xte, yte = _digits_split()
    p = RawKNN().fit(xtr, ytr).predict(xte)
    ref = sklearn.KNeighborsClassifier(3, algorithm="brute").fit(flatten_pixels(xtr), ytr)
    assert (p == ref.predict(flatten_pixels(xte))).mean() > 0.99
    assert (p == yte).mean() > 0.95
    lin = RawLinear(seed=0).fit(xtr, ytr)
    assert (lin.predict(xte) == yte).mean() > 0.9


@pytest.mark.slow
def test_cnn_shift_copies_train_on_shifted_images(monkeypatch):
    pytest.importorskip("torch")
    from htmkit.bench import cnn
    from htmkit.bench.vision import available_models

    seen = {}

    def fake_train(images, labels, *args, **kwargs):
        seen["images"], seen["labels"] = images, labels
        return None

    monkeypatch.setattr(cnn, "train_cnn", fake_train)
    xtr, ytr, _, _ = _digits_split()
    cnn.CNNClassifier(shift_copies=2, shift=1).fit(xtr[:50], ytr[:50])
    imgs, labs = seen["images"], seen["labels"]
    assert imgs.shape == (150, 8, 8) and np.array_equal(labs, np.tile(ytr[:50], 3))
    assert np.array_equal(imgs[:50], xtr[:50])
    # every copy is its image moved by an offset in {-1, 0, 1}^2
    for k in (1, 2):
        for i in range(50):
            moved = [translate(xtr[i : i + 1], np.array([[dy, dx]]))[0]
                     for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
            assert any(np.array_equal(imgs[50 * k + i], m) for m in moved)
    assert "cnn-shifts" in available_models()


@pytest.mark.slow
def test_cnn_learns_tiny_digits_subset():
    torch = pytest.importorskip("torch")
    from htmkit.bench.cnn import build_lenet, predict, train_cnn

    xtr, ytr, xte, yte = _digits_split()
    threads = torch.get_num_threads()
    # one thread: two threads on a loaded two-core machine can be ten times slower
    m = train_cnn(xtr[:300], ytr[:300], epochs=2, seed=0, min_steps=250, threads=1)
    p = predict(m, xte, threads=1)
    acc = (p == yte).mean()
    assert acc > 0.6, acc  # chance is 0.1
    assert torch.get_num_threads() == threads
    m2 = train_cnn(xtr[:300], ytr[:300], epochs=2, seed=0, min_steps=250, threads=1)
    np.testing.assert_array_equal(predict(m2, xte, threads=1), p)
    assert build_lenet((28, 28))[-5].in_features == 400
    with pytest.raises(InputError):
        predict(m, np.zeros((2, 28, 28), np.uint8))


# ------------------------------------------------------------------------------------ runner
class _Majority:
    name = "majority"

    def fit(self, images, labels):
        self.c = int(np.bincount(labels).argmax())
        return self

    def predict(self, images):
        return np.full(len(images), self.c)


def test_runner_table_json_plots_and_registry(tmp_path):
    from rich.console import Console

    from htmkit.bench import vision as V

    V.register_model("test-majority", lambda ctx: _Majority(), replace=True)
    V.register_model("test-missing", lambda ctx: _Majority(), requires=("no_such_mod_xyz",),
                     replace=True)  # fmt: skip
    with pytest.raises(ParameterError, match="already registered"):
        V.register_model("raw-knn", lambda ctx: _Majority())
    buf = io.StringIO()
    rep = V.run_vision_bench(
        "digits",
        models=["raw-knn", "test-majority", "test-missing"],
        seed=0,
        json_path=tmp_path / "r.json",
        plots_dir=tmp_path / "plots",
        few_shot=(10,),
        console=Console(file=buf, width=120),
    )
    on_disk = json.loads((tmp_path / "r.json").read_text())
    assert on_disk["models"]["raw-knn"]["accuracy"] == rep["models"]["raw-knn"]["accuracy"]
    acc = rep["models"]["raw-knn"]["accuracy"]
    assert set(acc) == {s.name for s in protocol_specs((8, 8))} | {"few_shot_10"}
    assert acc["clean"] > 0.95 and acc["few_shot_10"] > 0.7
    assert 0.05 < rep["models"]["test-majority"]["accuracy"]["clean"] < 0.15
    assert "no_such_mod_xyz" in rep["models"]["test-missing"]["skipped"]
    assert (tmp_path / "plots" / "vision_digits_noise.png").stat().st_size > 1000
    assert (tmp_path / "plots" / "vision_digits_shift.png").exists()
    out = buf.getvalue()
    assert "salt_pepper_0.3" in out and "train time (s)" in out and "skipped" in out
    with pytest.raises(ParameterError, match="unknown vision model"):
        V.run_vision_bench("digits", models=["nope"], console=Console(file=io.StringIO()))


def test_cli_bench_vision(tmp_path):
    from typer.testing import CliRunner

    from htmkit.cli import commands  # noqa: F401
    from htmkit.cli.main import app

    r = CliRunner().invoke(
        app,
        ["bench", "vision", "--dataset", "digits", "--models", "raw-linear", "--json",
         str(tmp_path / "v.json")],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "v.json").read_text())["dataset"] == "digits"
    r = CliRunner().invoke(app, ["bench", "vision", "--dataset", "cifar"])
    assert r.exit_code == 2
    r = CliRunner().invoke(
        app, ["bench", "vision", "--dataset", "mnist", "--mnist-dir", str(tmp_path / "none")]
    )
    assert r.exit_code == 2 and "file not found" in r.output
