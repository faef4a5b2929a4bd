"""The save format: round trip, atomic writes, and clear errors for bad files."""

import json
import zipfile

import numpy as np
import pytest

from htmkit.errors import FormatError
from htmkit.serialization import Persistable, load_state, save_state


class Thing(Persistable):
    def __init__(self, weights, name, nested):
        self.weights, self.name, self.nested = weights, name, nested

    def get_state(self):
        return {"weights": self.weights, "name": self.name, "nested": self.nested}

    @classmethod
    def from_state(cls, state):
        return cls(state["weights"], state["name"], state["nested"])


def make():
    return Thing(
        np.arange(12, dtype=np.float32).reshape(3, 4),
        "t",
        {"a": [1, 2.5, None, True], "b": {"c": np.array([7], dtype=np.uint64)}},
    )


def test_round_trip_preserves_values_and_dtypes(tmp_path):
    t = make()
    t.save(tmp_path / "t.htm")
    u = Thing.load(tmp_path / "t.htm")
    assert u.weights.dtype == np.float32 and np.array_equal(u.weights, t.weights)
    assert u.nested["a"] == [1, 2.5, None, True]
    assert u.nested["b"]["c"].dtype == np.uint64 and u.nested["b"]["c"][0] == 7
    assert list(tmp_path.iterdir()) == [tmp_path / "t.htm"]  # no temp files left


def test_no_pickle_in_file(tmp_path):
    make().save(tmp_path / "t.htm")
    with zipfile.ZipFile(tmp_path / "t.htm") as zf:
        for name in zf.namelist():
            np.lib.format.read_array(zf.open(name), allow_pickle=False)


def test_truncated_file_raises_format_error(tmp_path):
    p = tmp_path / "t.htm"
    make().save(p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError):
        Thing.load(p)


def test_corrupted_array_detected(tmp_path):
    p = tmp_path / "t.htm"
    save_state(p, "Thing", {"w": np.zeros(100, np.int64)})
    # rewrite the archive with a changed array but the old manifest
    with zipfile.ZipFile(p) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    import io

    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ones(100, np.int64))
    members["a0.npy"] = buf.getvalue()
    with zipfile.ZipFile(p, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    with pytest.raises(FormatError, match="checksum"):
        load_state(p, "Thing")


def test_wrong_class_and_version(tmp_path):
    p = tmp_path / "t.htm"
    make().save(p)
    with pytest.raises(FormatError, match="holds a 'Thing'"):
        load_state(p, "SpatialPooler")
    with zipfile.ZipFile(p) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(np.lib.format.read_array(
        __import__("io").BytesIO(members["__manifest__.npy"])).tobytes())
    manifest["format_version"] = 99
    import io

    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.frombuffer(json.dumps(manifest).encode(), np.uint8))
    members["__manifest__.npy"] = buf.getvalue()
    with zipfile.ZipFile(p, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    with pytest.raises(FormatError, match="version 99"):
        Thing.load(p)


def test_not_an_htmkit_file(tmp_path):
    p = tmp_path / "x.htm"
    p.write_text("hello")
    with pytest.raises(FormatError):
        Thing.load(p)
    with pytest.raises(FileNotFoundError):
        Thing.load(tmp_path / "missing.htm")


def test_failed_save_leaves_previous_file(tmp_path):
    p = tmp_path / "t.htm"
    make().save(p)
    before = p.read_bytes()
    bad = Thing(np.array([object()], dtype=object), "x", {})
    with pytest.raises(TypeError):
        bad.save(p)
    assert p.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["t.htm"]


# ----------------------------------------------------------------------------- state versions
class Part(Persistable):
    """A class whose layout changed: version 1 held ``value``, version 2 holds ``values``."""

    STATE_VERSION = 2

    def __init__(self, values):
        self.values = values

    def get_state(self):
        return {"values": self.values}

    @classmethod
    def from_state(cls, state):
        assert "__version__" not in state and "__class__" not in state
        return cls(list(state["values"]))

    @classmethod
    def _upgrade_state(cls, state, from_version):
        if from_version == 1:
            return {"values": [state["value"]]}
        return super()._upgrade_state(state, from_version)


class Whole(Persistable):
    def __init__(self, part, name):
        self.part, self.name = part, name

    def get_state(self):
        return {"part": self.part.get_state(), "name": self.name}

    @classmethod
    def from_state(cls, state):
        return cls(Part.from_state(state["part"]), state["name"])


def _manifest(path):
    import io

    with zipfile.ZipFile(path) as zf:
        return json.loads(np.lib.format.read_array(
            io.BytesIO(zf.read("__manifest__.npy"))).tobytes())


def test_each_object_writes_its_own_state_version(tmp_path):
    p = Whole(Part([1, 2]), "w").save(tmp_path / "w.htm")
    m = _manifest(p)
    assert m["state_versions"] == {"": ["Whole", 1], "/part": ["Part", 2]}
    assert m["state"]["part"]["__version__"] == 2
    back = Whole.load(p)
    assert back.part.values == [1, 2] and back.name == "w"


def test_old_layout_of_a_nested_part_is_upgraded(tmp_path):
    # a file from before Part's layout change: no versions at all (as htmkit 0.1.0 wrote)
    p = save_state(tmp_path / "old.htm", "Whole", {"part": {"value": 7}, "name": "old"})
    back = Whole.load(p)
    assert back.part.values == [7] and back.name == "old"
    # written again, it carries the new layout
    assert _manifest(back.save(tmp_path / "new.htm"))["state"]["part"] == {
        "values": [7], "__class__": "Part", "__version__": 2}


def test_newer_or_unknown_state_version_is_a_format_error(tmp_path):
    p = save_state(tmp_path / "future.htm", "Whole",
                   {"part": {"values": [1], "__class__": "Part", "__version__": 3},
                    "name": "f"})
    with pytest.raises(FormatError, match="Part: state version 3 is newer"):
        Whole.load(p)

    class Strict(Persistable):
        STATE_VERSION = 2

        def get_state(self):
            return {}

        @classmethod
        def from_state(cls, state):
            return cls()

    p = save_state(tmp_path / "strict.htm", "Strict", {})
    with pytest.raises(FormatError, match="no upgrade from state version 1 to 2"):
        Strict.load(p)
    p = save_state(tmp_path / "bad.htm", "Strict", {"__version__": "x"})
    with pytest.raises(FormatError, match="bad state version"):
        Strict.load(p)


def test_subclass_calling_super_from_state_upgrades_once():
    calls = []

    class Base(Persistable):
        STATE_VERSION = 2

        def get_state(self):
            return {"n": 1}

        @classmethod
        def from_state(cls, state):
            obj = cls.__new__(cls)
            obj.n = state["n"]
            return obj

        @classmethod
        def _upgrade_state(cls, state, from_version):
            calls.append(from_version)
            return {"n": state["m"]}

    class Child(Base):
        @classmethod
        def from_state(cls, state):
            obj = super().from_state(state)
            obj.extra = True
            return obj

    obj = Child.from_state({"m": 5})
    assert (obj.n, obj.extra, calls) == (5, True, [1])
    assert Child().get_state() == {"n": 1, "__class__": "Child", "__version__": 2}


def test_library_objects_record_nested_versions(tmp_path):
    """A network saved today lists the version of every region and core inside it; an old
    file (no versions) read and written again gains them."""
    from pathlib import Path

    from htmkit.network import Network
    from htmkit.temporal_memory import TemporalMemory

    tm = TemporalMemory(column_dimensions=[16], cells_per_column=2, external_apical_size=4)
    versions = _manifest(tm.save(tmp_path / "tm.htm"))["state_versions"]
    assert versions[""] == ["TemporalMemory", TemporalMemory.STATE_VERSION]
    assert versions["/basal"][0] == versions["/apical"][0] == "SynapseStore"
    old = Path(__file__).parent / "fixtures" / "v0_1_0" / "network.htm"
    assert "state_versions" not in _manifest(old)
    versions = _manifest(Network.load(old).save(tmp_path / "net.htm"))["state_versions"]
    assert versions[""] == ["Network", Network.STATE_VERSION]
    classes = {v[0] for v in versions.values()}
    assert {"SpatialPooler", "TemporalMemory", "TemporalPooler", "SynapseStore"} <= classes
