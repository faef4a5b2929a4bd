"""Safe, versioned save/load for every stateful htmkit object.

File format (``.htm``, a zip archive readable by ``numpy.load(..., allow_pickle=False)``):

* ``__manifest__`` — a UTF-8 JSON document stored as a ``uint8`` array::

      {"format": "htmkit", "format_version": 1, "class": "SpatialPooler",
       "htmkit_version": "0.2.0", "state": {...}, "checksums": {"<array key>": "<sha256>"},
       "state_versions": {"": ["SpatialPooler", 1], "/synapses": ["SynapseStore", 1]}}

  ``state`` is the object's state dict with every numpy array replaced by
  ``{"__array__": "<key>"}``. ``state_versions`` lists every persistable object in the file
  (the top one at ``""``, nested ones by their path in ``state``) with its class and the
  version of that class's state layout.
* one ``.npy`` member per array, named by its key.

No pickle is ever written or read. Files are written to a temporary file in the target folder
and moved into place atomically, so a crash never leaves a half-written model behind; the
temporary file is named ``.<name>.htmtmp-<pid>-<random>.tmp`` and one left by a killed process
is removed by the next save to the same place. On load
the format name, version, class and the SHA-256 of every array are checked; a truncated,
corrupted, wrong-class or wrong-version file raises :class:`~htmkit.errors.FormatError` and the
object that would have been built is simply not returned.

Loading is bounded and checked before any kernel sees the data: the zip's member count and
declared sizes are checked against limits derived from the file's size before anything is
inflated (all members together at most 64 times the file size plus 256 MiB, never more than
16 GiB: see :func:`inflate_limit`), each ``.npy`` header against its member's size, the manifest
in size and nesting depth; then each class's ``from_state`` validates every array (dtype,
shape, index ranges, counts, cross-array consistency; the synapse store through
:meth:`~htmkit.synapses.SynapseStore.validate`) with the helpers :func:`state_array` and
:func:`state_int`. Every failure is a :class:`~htmkit.errors.FormatError` naming the member or
field; :meth:`Persistable.load` turns any other exception raised while building the object into
one. ``tests/fuzz_files.py`` fuzzes this.

Objects take part by implementing ``get_state() -> dict`` and a classmethod
``from_state(state) -> obj`` (see :class:`Persistable`). Composite objects nest the state dicts
of their parts.

State versions
--------------
``format_version`` is the version of the container above and changes only when the container
does. The layout of each class's state has its own version, :attr:`Persistable.STATE_VERSION`
(1 for the layouts of htmkit 0.1.0, whose files carry no per-class versions). Every state dict
a :class:`Persistable` returns carries its class and version (keys ``"__class__"`` and
``"__version__"``; nested parts carry their own), and ``from_state`` brings an older state up
to date with the class's :meth:`~Persistable._upgrade_state` before reading it. To change a
class's layout: bump its ``STATE_VERSION`` and teach its ``_upgrade_state`` to turn a state of
the previous version into the new layout; files written before keep loading, and no other
class's files are affected. The files of ``tests/fixtures/`` (written by earlier releases)
must keep loading.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from ._version import __version__
from .errors import FormatError, HTMKitError

FORMAT_NAME = "htmkit"
FORMAT_VERSION = 1
MANIFEST_KEY = "__manifest__"
#: keys of the class name and state version in each persistable object's state dict
CLASS_KEY = "__class__"
VERSION_KEY = "__version__"

T = TypeVar("T", bound="Persistable")


def _sha256(a: np.ndarray) -> str:
    """SHA-256 of the array's bytes in C order (without copying a C-contiguous array)."""
    c = np.ascontiguousarray(a)
    if c.size == 0:
        return hashlib.sha256(b"").hexdigest()
    return hashlib.sha256(c.reshape(-1).view(np.uint8).data).hexdigest()


def _flatten(obj: Any, arrays: dict[str, np.ndarray], path: str) -> Any:
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise TypeError(f"cannot save object array at {path!r}")
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"state keys must be strings, got {k!r} at {path!r}")
            out[k] = _flatten(v, arrays, f"{path}/{k}")
        return out
    if isinstance(obj, (list, tuple)):
        return [_flatten(v, arrays, f"{path}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot save value of type {type(obj).__name__} at {path!r}")


def _unflatten(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            key = obj["__array__"]
            if not isinstance(key, str) or key not in arrays:
                raise FormatError(f"state refers to array {key!r}, which has no checksum")
            return arrays[key]
        return {k: _unflatten(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unflatten(v, arrays) for v in obj]
    return obj


def publish_temp(tmp: str | os.PathLike[str], path: str | os.PathLike[str]) -> None:
    """Move a finished temporary file into place with the permissions a plain ``open`` would
    have given it (``mkstemp`` creates files readable by their owner only)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    os.replace(tmp, path)


def state_versions(state: Any, path: str = "") -> dict[str, list[Any]]:
    """``{path: [class, version]}`` of every versioned object state inside ``state`` (the
    dicts that carry ``"__class__"`` and ``"__version__"``), the outermost at ``""``."""
    out: dict[str, list[Any]] = {}
    if isinstance(state, dict):
        if CLASS_KEY in state and VERSION_KEY in state:
            out[path] = [state[CLASS_KEY], state[VERSION_KEY]]
        for k, v in state.items():
            if isinstance(v, (dict, list, tuple)):
                out.update(state_versions(v, f"{path}/{k}"))
    elif isinstance(state, (list, tuple)):
        for i, v in enumerate(state):
            if isinstance(v, (dict, list, tuple)):
                out.update(state_versions(v, f"{path}[{i}]"))
    return out


def save_state(path: str | os.PathLike[str], class_name: str, state: dict[str, Any], *,
               compresslevel: int | None = None) -> Path:
    """Write ``state`` for an object of ``class_name`` to ``path`` atomically.

    ``compresslevel`` (0-9, default zlib's 6) trades file size for time: 1 writes several
    times faster for a slightly larger file, which every reader loads the same."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    flat = _flatten(state, arrays, "")
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "class": class_name,
        "htmkit_version": __version__,
        "state": flat,
        "checksums": {k: _sha256(a) for k, a in arrays.items()},
        "state_versions": state_versions(flat),
    }
    blob = np.frombuffer(json.dumps(manifest, allow_nan=True).encode("utf-8"), dtype=np.uint8)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED,
                                 compresslevel=compresslevel) as zf:
                for key, a in [(MANIFEST_KEY, blob), *arrays.items()]:
                    buf = io.BytesIO()
                    np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
                    zf.writestr(f"{key}.npy", buf.getvalue())
            fh.flush()
            os.fsync(fh.fileno())

    return _write_atomic(path, write)


_TEMP_TAG = ".htmtmp-"


def temp_prefix(path: str | os.PathLike[str]) -> str:
    """Name prefix of this process's temporary files for ``path``:
    ``.<name>.htmtmp-<pid>-`` (they end in ``.tmp``)."""
    return f".{Path(path).name}{_TEMP_TAG}{os.getpid()}-"


def remove_stale_temps(path: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary files left beside ``path`` by an interrupted write (a process that no
    longer runs); return the files removed. Files of running processes are left alone."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    head = f".{path.name}{_TEMP_TAG}"
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(head) and name.endswith(".tmp")):
            continue
        pid_text = name[len(head):].split("-", 1)[0]
        if not pid_text.isdigit():
            continue
        pid = int(pid_text)
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue  # that process still runs: maybe still writing
        except ProcessLookupError:
            pass
        except OSError:
            continue  # exists under another user
        try:
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def _write_atomic(path: str | os.PathLike[str], write: Any) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then publish it as ``path``:
    a reader sees the old file or the whole new one, never half of it. Temporary files that
    an interrupted earlier write left beside ``path`` are removed first."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        write(tmp)
        publish_temp(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_json_atomic(data: Any, path: str | os.PathLike[str], *, indent: int = 2,
                      **dumps_kwargs: Any) -> Path:
    """Write ``data`` as JSON to ``path`` atomically (temporary file + ``os.replace``).
    ``dumps_kwargs`` go to :func:`json.dumps` (e.g. ``default=``, ``allow_nan=``)."""
    text = json.dumps(data, indent=indent, **dumps_kwargs) + "\n"
    return _write_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def read_yaml(path: str | os.PathLike[str], what: str,
              error: type[HTMKitError] = HTMKitError) -> Any:
    """The YAML (or JSON) document in file ``path`` (``None`` when empty). A file that is not
    valid YAML or not text raises ``error`` naming ``what``; a missing file raises
    :class:`FileNotFoundError`, as :func:`load_state` does."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{what}: no such file: {p}")
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise error(f"{what}: {p} is not valid YAML ({exc})") from None


def write_csv_atomic(frame: Any, path: str | os.PathLike[str]) -> Path:
    """Write a pandas DataFrame as CSV (no index) to ``path`` atomically."""
    return _write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False))


#: Loading limits (see :func:`load_state`): the uncompressed sizes of all members together may
#: be at most ``MAX_INFLATE_RATIO`` times the file's size plus ``INFLATE_ALLOWANCE`` bytes, and
#: never more than ``MAX_INFLATED_BYTES``; a file has at most ``MAX_MEMBERS`` members, a
#: manifest at most ``MAX_MANIFEST_BYTES`` bytes and ``MAX_MANIFEST_DEPTH`` levels of nesting.
MAX_INFLATE_RATIO = 64
INFLATE_ALLOWANCE = 256 * 2**20
MAX_INFLATED_BYTES = 16 * 2**30
MAX_MEMBERS = 100_000
MAX_MANIFEST_BYTES = 64 * 2**20
MAX_MANIFEST_DEPTH = 64
#: array kinds a file may hold: bool, signed and unsigned integers, floats, complex
_ARRAY_KINDS = frozenset("biufc")
_READ_CHUNK = 2**20


def inflate_limit(file_size: int) -> int:
    """Most bytes the members of a file of ``file_size`` bytes may inflate to, all together:
    ``MAX_INFLATE_RATIO * file_size + INFLATE_ALLOWANCE``, at most ``MAX_INFLATED_BYTES``."""
    return min(MAX_INFLATE_RATIO * int(file_size) + INFLATE_ALLOWANCE, MAX_INFLATED_BYTES)


#: Memory bound of :meth:`Persistable.load` (measured by ``tools/measure_load_memory.py``, see
#: docs/experiments/load-memory.md): building an object takes at most ``LOAD_MEMORY_COPIES``
#: bytes per inflated byte of its file (the arrays read, the object's own copies and derived
#: arrays) plus ``LOAD_MEMORY_BASE`` bytes.
LOAD_MEMORY_COPIES = 4
LOAD_MEMORY_BASE = 64 * 2**20


def load_memory_bound(file_size: int) -> int:
    """Most bytes loading a file of ``file_size`` bytes takes (beyond the process's memory
    before the call): ``LOAD_MEMORY_COPIES * inflate_limit(file_size) + LOAD_MEMORY_BASE``,
    that is ``K * N + C`` with ``K = LOAD_MEMORY_COPIES * MAX_INFLATE_RATIO`` and ``C =
    LOAD_MEMORY_COPIES * INFLATE_ALLOWANCE + LOAD_MEMORY_BASE`` for a file of ``N`` bytes
    (under ``MAX_INFLATED_BYTES / MAX_INFLATE_RATIO``). The loading limits enforce the inflated
    size; the copies per byte are a measured property of the classes' ``from_state``."""
    return LOAD_MEMORY_COPIES * inflate_limit(file_size) + LOAD_MEMORY_BASE


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, key: str) -> np.ndarray:
    """Read one ``.npy`` member, checking its header (magic, dtype, shape) against the
    member's declared uncompressed size before the array is allocated."""
    with zf.open(info) as fh:
        try:
            major, minor = np.lib.format.read_magic(fh)
            if (major, minor) == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif (major, minor) in ((2, 0), (3, 0)):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise FormatError(f"array {key!r}: unsupported npy version {major}.{minor}")
        except FormatError:
            raise
        except Exception as exc:
            raise FormatError(f"array {key!r}: bad npy header ({exc})") from None
        header_len = fh.tell()
        if dtype.kind not in _ARRAY_KINDS or dtype.hasobject or dtype.fields is not None:
            raise FormatError(f"array {key!r}: dtype {dtype.str} is not allowed")
        if any(not isinstance(d, int) or d < 0 for d in shape):
            raise FormatError(f"array {key!r}: bad shape {shape!r}")
        count = 1
        for d in shape:
            count *= d
        nbytes = count * dtype.itemsize
        if nbytes != info.file_size - header_len:
            raise FormatError(
                f"array {key!r}: shape {tuple(shape)} of {dtype.str} needs {nbytes} bytes, "
                f"the member holds {info.file_size - header_len}")
        flat = np.empty(count, dtype=dtype)
        view = flat.view(np.uint8) if count else np.empty(0, dtype=np.uint8)
        pos = 0
        while pos < nbytes:
            chunk = fh.read(min(_READ_CHUNK, nbytes - pos))
            if not chunk:
                raise FormatError(f"array {key!r} is truncated")
            view[pos : pos + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            pos += len(chunk)
    if fortran:
        return flat.reshape(shape[::-1]).transpose()
    return flat.reshape(shape)


def _check_depth(obj: Any, limit: int) -> None:
    """Raise FormatError if ``obj`` (parsed JSON) nests deeper than ``limit`` (no recursion)."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise FormatError(f"manifest nests deeper than {limit} levels")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def load_state(path: str | os.PathLike[str], class_name: str | None = None) -> dict[str, Any]:
    """Read and verify a file written by :func:`save_state`; return its state dict.

    Sizes are checked before anything is inflated: at most ``MAX_MEMBERS`` members, whose
    declared uncompressed sizes together stay within :func:`inflate_limit` of the file's size
    (64 times the file size plus 256 MiB, at most 16 GiB), each member's ``.npy`` header
    (dtype, shape) matching its declared size; the manifest at most ``MAX_MANIFEST_BYTES``
    bytes and ``MAX_MANIFEST_DEPTH`` levels deep. Reading needs about the inflated size in
    memory, once.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    FormatError
        If the file is not an htmkit file, is truncated, corrupted or too large for its size,
        holds another class than ``class_name`` or was written by an unsupported format
        version. The message names the member or field.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        file_size = path.stat().st_size
        with zipfile.ZipFile(path, "r") as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise FormatError(f"{path}: {len(infos)} members, at most {MAX_MEMBERS}")
            members: dict[str, zipfile.ZipInfo] = {}
            for info in infos:
                if info.filename in members:
                    raise FormatError(f"{path}: member {info.filename!r} appears twice")
                members[info.filename] = info
            limit = inflate_limit(file_size)
            total = sum(info.file_size for info in infos)
            if total > limit:
                raise FormatError(
                    f"{path}: members inflate to {total} bytes, more than the {limit} allowed "
                    f"for a file of {file_size} bytes")
            man_info = members.get(f"{MANIFEST_KEY}.npy")
            if man_info is None:
                raise FormatError(f"{path}: not an htmkit file (no manifest)")
            if man_info.file_size > MAX_MANIFEST_BYTES:
                raise FormatError(f"{path}: manifest of {man_info.file_size} bytes, at most "
                                  f"{MAX_MANIFEST_BYTES}")

            def read(key: str) -> np.ndarray:
                info = members.get(f"{key}.npy")
                if info is None:
                    raise FormatError(f"{path}: array {key!r} is missing (truncated file?)")
                return _read_member(zf, info, key)

            blob = read(MANIFEST_KEY)
            if blob.dtype != np.uint8 or blob.ndim != 1:
                raise FormatError(f"{path}: manifest is not a uint8 vector")
            try:
                manifest = json.loads(blob.tobytes().decode("utf-8"))
            except RecursionError:
                raise FormatError(f"{path}: manifest nests too deep") from None
            _check_depth(manifest, MAX_MANIFEST_DEPTH)
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
                raise FormatError(f"{path}: not an htmkit file")
            version = manifest.get("format_version")
            if version != FORMAT_VERSION:
                raise FormatError(
                    f"{path}: format version {version!r} is not supported "
                    f"(this htmkit reads version {FORMAT_VERSION})"
                )
            if class_name is not None and manifest.get("class") != class_name:
                raise FormatError(
                    f"{path}: holds a {manifest.get('class')!r}, not a {class_name!r}"
                )
            checksums = manifest.get("checksums")
            if not isinstance(checksums, dict) or not all(
                    isinstance(v, str) for v in checksums.values()):
                raise FormatError(f"{path}: manifest field 'checksums' is malformed")
            if "state" not in manifest:
                raise FormatError(f"{path}: manifest field 'state' is missing")
            arrays = {}
            for key, digest in checksums.items():
                a = read(key)
                if _sha256(a) != digest:
                    raise FormatError(f"{path}: array {key!r} is corrupted (checksum mismatch)")
                arrays[key] = a
            state = _unflatten(manifest["state"], arrays)
    except FormatError as exc:
        msg = str(exc)
        raise FormatError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None
    except FileNotFoundError:
        raise
    except MemoryError:
        raise
    except Exception as exc:
        raise FormatError(f"{path}: unreadable or corrupted htmkit file "
                          f"({type(exc).__name__}: {exc})") from None
    return state


class _CurrentState(dict[str, Any]):
    """A state dict already brought up to its class's current version (so that a
    ``from_state`` calling ``super().from_state`` does not upgrade it twice)."""


def _versioned_get_state(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    @wraps(fn)
    def get_state(self: Persistable) -> dict[str, Any]:
        state = fn(self)
        if not isinstance(state, dict):
            return state
        cls = type(self)
        return {**state, CLASS_KEY: cls._state_name(), VERSION_KEY: cls.STATE_VERSION}

    get_state.__wrapped_state__ = True  # type: ignore[attr-defined]
    return get_state


def _versioned_from_state(fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    def from_state(cls: type[Persistable], state: dict[str, Any]) -> Any:
        if isinstance(state, dict) and not isinstance(state, _CurrentState):
            state = cls._current_state(state)
        return fn(cls, state)

    from_state.__wrapped_state__ = True  # type: ignore[attr-defined]
    return from_state


class Persistable:
    """Mixin giving ``save(path)`` and ``Class.load(path)`` on top of get_state/from_state.

    Subclasses implement ``get_state() -> dict`` and the classmethod ``from_state(state)``.
    Both are wrapped when the subclass is defined: ``get_state`` adds the class name and
    :attr:`STATE_VERSION` to the dict it returns (so nested parts carry their own versions
    too), and ``from_state`` first brings an older state up to date with
    :meth:`_upgrade_state`, then hands it (without those two keys) to the subclass's code.
    """

    #: Name stored in the manifest; defaults to the class name.
    state_class_name: ClassVar[str | None] = None
    #: Version of this class's state layout; bump it when the layout changes and teach
    #: :meth:`_upgrade_state` to convert the previous one. States without a version (files of
    #: htmkit 0.1.0) are version 1.
    STATE_VERSION: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        get = cls.__dict__.get("get_state")
        if callable(get) and not getattr(get, "__wrapped_state__", False):
            cls.get_state = _versioned_get_state(get)  # type: ignore[method-assign]
        load = cls.__dict__.get("from_state")
        if isinstance(load, classmethod) and not getattr(load.__func__, "__wrapped_state__",
                                                         False):
            cls.from_state = classmethod(  # type: ignore[method-assign, assignment]
                _versioned_from_state(load.__func__))

    def get_state(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def from_state(cls: type[T], state: dict[str, Any]) -> T:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def _upgrade_state(cls, state: dict[str, Any], from_version: int) -> dict[str, Any]:
        """Turn a state of layout ``from_version`` into one of layout ``from_version + 1``.

        Called once per version step by :meth:`from_state`, from the file's version up to
        :attr:`STATE_VERSION`. The default knows no older layout; a class that bumps its
        version overrides it (and calls ``super()`` for versions it does not handle).

        Raises
        ------
        FormatError
            If this class cannot convert ``from_version``.
        """
        raise FormatError(f"{cls._state_name()}: no upgrade from state version "
                          f"{from_version} to {from_version + 1}")

    @classmethod
    def _current_state(cls, state: dict[str, Any]) -> dict[str, Any]:
        """``state`` without its class/version keys, upgraded to :attr:`STATE_VERSION`."""
        version = state.get(VERSION_KEY, 1)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise FormatError(f"{cls._state_name()}: bad state version {version!r}")
        if version > cls.STATE_VERSION:
            raise FormatError(
                f"{cls._state_name()}: state version {version} is newer than this htmkit "
                f"reads ({cls.STATE_VERSION}); upgrade htmkit")
        out = {k: v for k, v in state.items() if k not in (CLASS_KEY, VERSION_KEY)}
        while version < cls.STATE_VERSION:
            out = cls._upgrade_state(out, version)
            version += 1
        return _CurrentState(out)

    @classmethod
    def _state_name(cls) -> str:
        return cls.state_class_name or cls.__name__

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save the complete state to ``path`` (atomic; see :mod:`htmkit.serialization`)."""
        return save_state(path, self._state_name(), self.get_state())

    @classmethod
    def load(cls: type[T], path: str | os.PathLike[str]) -> T:
        """Load an object saved with :meth:`save` (by this or an earlier htmkit; older state
        layouts are upgraded); raises ``FormatError`` on a bad file."""
        state = load_state(path, cls._state_name())
        try:
            return cls.from_state(state)
        except HTMKitError as exc:
            raise FormatError(f"{path}: {exc}") from None
        except MemoryError as exc:
            # the arrays are bounded by the file's size; what is left is a parameter asking
            # for more memory than there is
            raise FormatError(f"{path}: the saved parameters need more memory than is "
                              f"available ({exc})") from None
        except Exception as exc:
            # any other failure of a state that passed the checksums is a bad state
            raise FormatError(f"{path}: state is incomplete or inconsistent "
                              f"({type(exc).__name__}: {exc})") from None


# ---------------------------------------------------------------------- state validation
def state_int(state: dict[str, Any], key: str, where: str, lo: int | None = None,
              hi: int | None = None) -> int:
    """``state[key]`` as an int, checked to be an integer in ``[lo, hi]``; a missing or bad
    value raises ``FormatError`` naming ``where`` and ``key``."""
    if not isinstance(state, dict) or key not in state:
        raise FormatError(f"{where}: field {key!r} is missing")
    v = state[key]
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise FormatError(f"{where}: field {key!r} must be an integer, got {v!r}")
    v = int(v)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise FormatError(f"{where}: field {key!r} = {v} is outside [{lo}, {hi}]")
    return v


def state_dict(state: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """``state[key]``, checked to be a dict; otherwise ``FormatError`` naming ``where``
    and ``key``."""
    v = state.get(key) if isinstance(state, dict) else None
    if not isinstance(v, dict):
        raise FormatError(f"{where}: field {key!r} is not a dict")
    return v


def state_float(state: dict[str, Any], key: str, where: str) -> float:
    """``state[key]`` as a float (a number; NaN and infinities allowed as saved)."""
    if not isinstance(state, dict) or key not in state:
        raise FormatError(f"{where}: field {key!r} is missing")
    v = state[key]
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise FormatError(f"{where}: field {key!r} must be a number, got {v!r}")
    return float(v)


def state_array(state: dict[str, Any], key: str, dtype: Any, where: str, *,
                shape: tuple[int, ...] | None = None, ndim: int | None = None,
                lo: float | None = None, hi: float | None = None,
                finite: bool = False) -> np.ndarray:
    """``state[key]`` as a new array of ``dtype``, validated before it is used: it must be a
    numeric array of the same kind (bool, integer or float) as ``dtype``, of ``shape`` (or
    ``ndim`` dimensions), with every value in ``[lo, hi]`` (checked before any cast) and, if
    ``finite``, no NaN or infinity. A failure raises ``FormatError`` naming the field."""
    if not isinstance(state, dict) or key not in state:
        raise FormatError(f"{where}: field {key!r} is missing")
    a = state[key]
    if not isinstance(a, np.ndarray):
        raise FormatError(f"{where}: field {key!r} is not an array")
    target = np.dtype(dtype)
    kinds = {"b": "b", "i": "iu", "u": "iu", "f": "fiu"}.get(target.kind, target.kind)
    if a.dtype.kind not in kinds:
        raise FormatError(f"{where}: array {key!r} has dtype {a.dtype.str}, expected "
                          f"{target.str}")
    if shape is not None and a.shape != tuple(shape):
        raise FormatError(f"{where}: array {key!r} has shape {a.shape}, expected "
                          f"{tuple(shape)}")
    if ndim is not None and a.ndim != ndim:
        raise FormatError(f"{where}: array {key!r} has {a.ndim} dimensions, expected {ndim}")
    if a.size:
        if finite and a.dtype.kind == "f" and not np.isfinite(a).all():
            raise FormatError(f"{where}: array {key!r} holds NaN or infinite values")
        if target.kind in "iu":
            info = np.iinfo(target)
            lo = info.min if lo is None else max(lo, info.min)
            hi = info.max if hi is None else min(hi, info.max)
        if lo is not None and a.min() < lo:
            raise FormatError(f"{where}: array {key!r} holds {a.min()}, below {lo}")
        if hi is not None and a.max() > hi:
            raise FormatError(f"{where}: array {key!r} holds {a.max()}, above {hi}")
    return np.array(a, dtype=target)
