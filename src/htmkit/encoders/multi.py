"""The multi-encoder: named fields of a record, each with its own encoder, concatenated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import InputError, InputTypeError, ParameterError
from ..params import Constraints, Custom, validate
from ..sdr import SDR
from .base import Encoder, encoder_class

__all__ = ["MultiEncoder", "MultiEncoderParams"]

FieldSpec = Mapping[str, Encoder] | Sequence[tuple[str, Encoder]]


@dataclass(frozen=True)
class MultiEncoderParams:
    """The fields of a :class:`MultiEncoder` (validated at construction).

    Parameters
    ----------
    fields : mapping of str to Encoder, or sequence of (str, Encoder) pairs
        Field names (non-empty, distinct strings) and their encoders, in output order. Stored
        as a tuple of pairs.
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "fields": Custom(lambda name, value: _check_fields(value),
                         "a mapping of name to encoder or a sequence of pairs"),
    }

    fields: tuple[tuple[str, Encoder], ...]

    def __post_init__(self) -> None:
        validate(self)


def _check_fields(f: Any) -> tuple[tuple[str, Encoder], ...]:
    """The ``fields`` of :class:`MultiEncoderParams` as a tuple of pairs, checked."""
    if isinstance(f, Mapping):
        items = list(f.items())
    elif isinstance(f, Sequence) and not isinstance(f, (str, bytes)):
        items = list(f)
    else:
        raise ParameterError(
            f"fields must be a mapping of name to encoder or a sequence of pairs, got {f!r}"
        )
    if not items:
        raise ParameterError("fields must contain at least one field")
    out = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ParameterError(f"fields[{i}] must be a (name, encoder) pair, got {item!r}")
        name, enc = item
        if not isinstance(name, str) or not name:
            raise ParameterError(f"fields[{i}]: field name must be a non-empty str, "
                                 f"got {name!r}")
        if name in seen:
            raise ParameterError(f"fields: field name {name!r} appears more than once")
        if not isinstance(enc, Encoder):
            raise ParameterError(
                f"fields[{name!r}] must be an Encoder, got {type(enc).__name__}"
            )
        seen.add(name)
        out.append((name, enc))
    return tuple(out)


class MultiEncoder(Encoder):
    """Encode a record (a mapping or a pandas Series row) field by field into one SDR.

    Each field's encoding is flattened and the results are concatenated in field order into
    a one-dimensional SDR; :attr:`offsets` / :attr:`field_slices` locate each field's bits and
    :meth:`split` cuts an output SDR back into per-field SDRs.

    Parameters
    ----------
    fields : MultiEncoderParams, mapping of str to Encoder, or sequence of (str, Encoder)
        The fields and their encoders, in output order.

    Notes
    -----
    A field missing from the record raises :class:`~htmkit.errors.InputError` naming it. A
    field holding a missing value (``None``, NaN, ...) gets that encoder's missing encoding
    (no active bits in the field's range). A field value of the wrong type raises
    ``TypeError`` and a bad value :class:`~htmkit.errors.InputError`, both naming the field.
    A record that is neither a mapping nor a pandas Series raises ``TypeError``.

    Examples
    --------
    >>> from htmkit.encoders import ScalarEncoder, CategoryEncoder
    >>> enc = MultiEncoder({"x": ScalarEncoder(minimum=0, maximum=1, size=50, active_bits=5),
    ...                     "c": CategoryEncoder(categories=["a", "b"], active_bits=5)})
    >>> enc.offsets
    {'x': 0, 'c': 50}
    """

    params_class = MultiEncoderParams

    def __init__(self, fields: MultiEncoderParams | FieldSpec):
        self.params: MultiEncoderParams = (
            fields if isinstance(fields, MultiEncoderParams) else MultiEncoderParams(fields)  # type: ignore[arg-type]
        )
        offsets: dict[str, int] = {}
        start = 0
        for name, enc in self.params.fields:
            offsets[name] = start
            start += enc.size
        self._offsets = offsets
        self._size = start
        self._dims = (start,)
        self._parts = [(name, enc, offsets[name]) for name, enc in self.params.fields]

    # ------------------------------------------------------------------ properties
    @property
    def field_names(self) -> tuple[str, ...]:
        """Field names in output order."""
        return tuple(self._offsets)

    @property
    def encoders(self) -> dict[str, Encoder]:
        """The encoder of each field."""
        return dict(self.params.fields)

    @property
    def offsets(self) -> dict[str, int]:
        """First output bit of each field."""
        return dict(self._offsets)

    @property
    def field_slices(self) -> dict[str, slice]:
        """Output bit range of each field."""
        return {name: slice(off, off + enc.size) for name, enc, off in self._parts}

    # ------------------------------------------------------------------ encoding
    def encode(self, record: Any) -> SDR:
        """Encode one record.

        Parameters
        ----------
        record : Mapping or pandas.Series
            Must hold every field name (extra keys are ignored).

        Returns
        -------
        SDR
            Shape ``(size,)``: the concatenated field encodings.

        Raises
        ------
        InputError
            A field is missing from the record, or a field's value is invalid.
        TypeError
            ``record`` is not a mapping or Series, or a field's value has the wrong type.
        """
        if not isinstance(record, Mapping) and not (
            hasattr(record, "index") and hasattr(record, "__getitem__")
            and not isinstance(record, (np.ndarray, Sequence))
        ):
            raise InputTypeError(
                f"MultiEncoder expects a mapping or a pandas Series, got {type(record).__name__}"
            )
        pieces = []
        for name, enc, off in self._parts:
            try:
                value = record[name]
            except (KeyError, IndexError):
                raise InputError(f"MultiEncoder: record has no field {name!r}") from None
            try:
                idx = enc.encode(value).indices
            except TypeError as exc:
                raise InputTypeError(f"MultiEncoder field {name!r}: {exc}") from exc
            except InputError as exc:
                raise InputError(f"MultiEncoder field {name!r}: {exc}") from exc
            pieces.append(idx.astype(np.int64) + off if off else idx)
        return SDR._trusted(self._dims, np.concatenate(pieces) if len(pieces) > 1 else pieces[0])

    def split(self, sdr: SDR) -> dict[str, SDR]:
        """Cut an output SDR into per-field SDRs (each of its encoder's dimensions)."""
        if not isinstance(sdr, SDR) or sdr.size != self._size:
            raise InputError(f"MultiEncoder.split needs an SDR of size {self._size}")
        idx = sdr.indices.astype(np.int64)
        out = {}
        for name, enc, off in self._parts:
            lo, hi = np.searchsorted(idx, [off, off + enc.size])
            out[name] = SDR._trusted(enc.dimensions, idx[lo:hi] - off)
        return out

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> dict[str, Any]:
        """Each field's name, encoder class name and encoder state."""
        return {
            "fields": [
                {"name": name, "class": type(enc).__name__, "state": enc.get_state()}
                for name, enc in self.params.fields
            ]
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> MultiEncoder:
        """Rebuild from :meth:`get_state` output (nested encoders must be registered classes)."""
        fields = [
            (f["name"], encoder_class(f["class"]).from_state(f["state"]))
            for f in state["fields"]
        ]
        return cls(fields)

    def __repr__(self) -> str:
        inner = ", ".join(f"{n!r}: {e!r}" for n, e, _ in self._parts)
        return f"MultiEncoder({{{inner}}})"
