"""The :class:`Region` interface and thin adapters around htmkit's algorithms.

A region is anything with named input *ports* (``input_shapes``: ``{"feedforward": shape,
"apical": shape, ...}``), one main output (``output_shape``), ``compute(inputs, learn) ->
SDR``, ``reset()`` and ``get_state()`` / ``from_state()``. The adapters below wrap the core
classes; they import them lazily, so this module loads while those are still being written.

Optional members the :class:`~htmkit.network.Network` uses when present:

* ``output_shapes`` / ``outputs``: several named outputs (a link picks one with ``output=``);
  the main output is also available as ``"output"``.
* ``set_value(value)`` and ``needs_value``: sensors (and classifiers) take an external value
  from ``Network.run(inputs)``; ``needs_value=True`` makes the value mandatory. A region that
  also has ``prepare_value(value)`` (check/encode the value, change nothing, return what
  to keep) and ``commit_value(prepared)`` (keep it) lets ``Network.run`` check every value
  before it changes any region, so a rejected step changes nothing; ``set_value(value)`` is
  ``commit_value(prepare_value(value))``.
* ``required_inputs``: ports that must be linked (default: ``{"feedforward"}`` if the region
  has that port).
* ``type_name``, ``to_config()``, ``from_config(cfg, input_shapes)`` and
  ``config_output_shapes(cfg, ff_shape)`` for :meth:`Network.from_config`.

Adapters (``type`` name in configs):

==================  =================================  =====================================
type                class                              ports -> output
==================  =================================  =====================================
``SDRSensor``       :class:`SDRSensor`                 value (an SDR) -> the SDR
``Encoder``         :class:`EncoderSensor`             value -> ``encoder.encode(value)``
``SpatialPooler``   :class:`SpatialPoolerRegion`       feedforward -> active columns
``TemporalMemory``  :class:`TemporalMemoryRegion`      feedforward (columns), basal, apical
                                                       -> cells ``(*columns, cells)`` or
                                                       columns (``output=``)
``TemporalPooler``  :class:`TemporalPoolerRegion`      feedforward (active cells), predicted
                                                       (predicted-active cells) -> pooler cells
``Classifier``      :class:`ClassifierRegion`          feedforward + value (label) -> one-hot
                                                       predicted class; ``.inference``
==================  =================================  =====================================

The regions of the streaming models (backtracking TM, scalar predictor, anomaly likelihood)
are in :mod:`htmkit.network.streaming`.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from ..errors import InputError, ParameterError
from ..params import params_from_dict, params_to_dict, validate_values
from ..sdr import SDR
from ..serialization import Persistable

__all__ = [
    "Region",
    "RegionBase",
    "SDRSensor",
    "EncoderSensor",
    "SpatialPoolerRegion",
    "TemporalMemoryRegion",
    "TemporalPoolerRegion",
    "ClassifierRegion",
    "REGION_TYPES",
    "register_region_type",
    "region_type",
    "TM_OUTPUTS",
]

Shape = tuple[int, ...]


@runtime_checkable
class Region(Protocol):
    """The interface every region of a :class:`~htmkit.network.Network` implements."""

    @property
    def input_shapes(self) -> Mapping[str, Shape]:
        """Shape of each input port (``"feedforward"``, ``"basal"``, ``"apical"``, ...)."""
        ...

    @property
    def output_shape(self) -> Shape:
        """Shape of the SDR returned by :meth:`compute`."""
        ...

    def compute(self, inputs: dict[str, SDR], learn: bool = True) -> SDR:
        """One step: ``inputs`` maps linked ports to SDRs of their shapes."""
        ...

    def reset(self) -> None:
        """Forget the sequence context (learning is kept)."""
        ...

    def get_state(self) -> dict[str, Any]: ...

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Region: ...


#: Region classes by config/state type name.
REGION_TYPES: dict[str, type] = {}


def register_region_type(name: str, cls: type) -> type:
    """Make ``cls`` available to :meth:`Network.from_config` / ``load`` as type ``name``."""
    REGION_TYPES[name] = cls
    return cls


def region_type(name: str) -> Any:
    """The region class registered as ``name`` (``KeyError`` naming the known types)."""
    try:
        return REGION_TYPES[name]
    except KeyError:
        raise KeyError(
            f"unknown region type {name!r} (known: {sorted(REGION_TYPES)})"
        ) from None


def _shape(value: Any) -> Shape:
    if isinstance(value, (int, np.integer)):
        return (int(value),)
    return tuple(int(v) for v in value)


def _size(shape: Shape) -> int:
    return int(np.prod(shape))


def _lazy(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:  # pragma: no cover - while cores land
        raise ImportError(f"{module}.{name} is not available yet ({exc})") from None


def _sdr_view(shape: Shape, indices: np.ndarray) -> SDR:
    """An SDR of ``shape`` over ``indices`` (sorted, unique, in range) without copying them
    when they already have the SDR's index dtype; the array must not change afterwards."""
    obj = SDR.__new__(SDR)
    size = math.prod(shape)
    dtype = np.int32 if size < 2**31 else np.int64
    if indices.dtype != dtype or indices.flags.writeable:
        indices = np.array(indices, dtype=dtype, copy=True)
        indices.flags.writeable = False
    obj._shape = shape
    obj._size = size
    obj._indices = indices
    obj._hash = None
    return obj


def _as_input(sdr: SDR | None, shape: Shape) -> SDR:
    """``sdr`` with ``shape`` (same size), or an empty SDR of ``shape`` for ``None``."""
    if sdr is None:
        return SDR._trusted(shape, np.zeros(0, dtype=np.int64))
    if sdr.shape != shape:
        if sdr.size != _size(shape):
            raise InputError(f"input of size {sdr.size} does not fit shape {shape}")
        return sdr.reshape(shape)
    return sdr


class RegionBase(Persistable):
    """Common machinery of the adapters: the last output, named outputs, registration.

    Subclasses set ``type_name`` (registered automatically), implement ``input_shapes``,
    ``output_shape``, :meth:`_compute`, :meth:`_core_state` / :meth:`_from_core_state` and the
    config hooks.
    """

    type_name: ClassVar[str] = ""
    #: Whether ``Network.run`` must be given a value for this region every step.
    needs_value: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.type_name:
            register_region_type(cls.type_name, cls)

    def _init_output(self) -> None:
        self._output = SDR._trusted(self.output_shape, np.zeros(0, dtype=np.int64))

    # ------------------------------------------------------------------ interface
    @property
    def input_shapes(self) -> dict[str, Shape]:
        return {}

    @property
    def output_shape(self) -> Shape:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def required_inputs(self) -> frozenset[str]:
        return frozenset({"feedforward"} & set(self.input_shapes))

    @property
    def output_shapes(self) -> dict[str, Shape]:
        """Shapes of the named outputs (``"output"`` is the main one)."""
        return {"output": self.output_shape}

    @property
    def outputs(self) -> dict[str, SDR]:
        """The named outputs of the last step."""
        return {"output": self._output}

    @property
    def output(self) -> SDR:
        """The main output of the last step (empty before the first)."""
        return self._output

    @property
    def core(self) -> Any:
        """The wrapped algorithm object (``None`` for plain sensors)."""
        return getattr(self, "_core", None)

    def compute(self, inputs: dict[str, SDR], learn: bool = True) -> SDR:
        shapes = self.input_shapes
        for port in inputs:
            if port not in shapes:
                raise InputError(f"{self.type_name} region has no input port {port!r} "
                                 f"(ports: {sorted(shapes)})")
        fitted = {port: _as_input(sdr, shapes[port]) for port, sdr in inputs.items()}
        self._output = self._compute(fitted, bool(learn))
        return self._output

    def compute_trusted(self, inputs: dict[str, SDR], learn: bool) -> SDR:
        """:meth:`compute` without the port checks: the :class:`~htmkit.network.Network`
        calls this with inputs it has already shaped to :attr:`input_shapes`."""
        self._output = out = self._compute(inputs, learn)
        return out

    def _compute(self, inputs: dict[str, SDR], learn: bool) -> SDR:  # pragma: no cover
        raise NotImplementedError

    def reset(self) -> None:
        self._init_output()

    def describe(self) -> str:
        """A one-line summary (used by ``print(network)``)."""
        return self.type_name

    # ------------------------------------------------------------------ config
    def to_config(self) -> dict[str, Any]:
        """``{"type": ..., "params": {...}, ...options}``; JSON/YAML-friendly."""
        raise NotImplementedError(f"{type(self).__name__} cannot be described in a config")

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], input_shapes: Mapping[str, Shape]) -> RegionBase:
        """Build from a config entry; missing input sizes come from ``input_shapes``."""
        raise NotImplementedError

    @classmethod
    def config_output_shapes(cls, cfg: Mapping[str, Any], ff_shape: Shape | None
                             ) -> dict[str, Shape]:
        """Output shapes a config entry will have, given its feed-forward input shape."""
        raise NotImplementedError

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        return {"core": self._core_state(), "output": np.array(self._output.indices),
                "options": self._options()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RegionBase:
        obj = cls._from_core_state(state["core"], dict(state.get("options") or {}))
        idx = np.asarray(state["output"], dtype=np.int64)
        obj._output = SDR._trusted(obj.output_shape, idx)
        return obj

    def _options(self) -> dict[str, Any]:
        return {}

    def _core_state(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def _from_core_state(cls, core: Any, options: dict[str, Any]) -> RegionBase:
        raise NotImplementedError  # pragma: no cover

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"


def _check_cfg_keys(cfg: Mapping[str, Any], allowed: set[str], what: str) -> None:
    unknown = set(cfg) - allowed - {"type"}
    if unknown:
        raise ParameterError(f"unknown key(s) {sorted(unknown)} for a {what} region "
                             f"(allowed: {sorted(allowed)})")


def _params_dict(cfg: Mapping[str, Any]) -> dict[str, Any]:
    params = cfg.get("params", {}) or {}
    if not isinstance(params, Mapping):
        raise ParameterError(f"params must be a mapping, got {type(params).__name__}")
    return dict(params)


def _params_with_inputs(cfg: Mapping[str, Any], input_shapes: Mapping[str, Shape], what: str,
                        fills: tuple[tuple[str, str, Any], ...],
                        allowed: frozenset[str] = frozenset({"params"})) -> dict[str, Any]:
    """A region config's ``params``, checked, with sizes it leaves out taken from its inputs:
    ``fills`` is ``(port, key, shape -> value)``, applied when ``key`` is missing and ``port``
    is connected."""
    _check_cfg_keys(cfg, set(allowed), what)
    params = _params_dict(cfg)
    for port, key, value in fills:
        if key not in params and port in input_shapes:
            params[key] = value(input_shapes[port])
    return params


def _checked_params(cls: type, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` (a region config's, possibly partial) checked against the declarative
    constraints of the parameter dataclass ``cls`` (its ``_parameter_constraints``), with the
    normalised values; an unknown or bad parameter raises :class:`ParameterError` naming it.
    Used before a config's sizes are read, so a bad size is reported by name."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - names)
    if unknown:
        raise ParameterError(f"unknown parameter(s) for {cls.__name__}: {unknown}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    return validate_values(getattr(cls, "_parameter_constraints", {}), values)


def _dataclass_from(cls: type, params: dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - names)
    if unknown:
        raise ParameterError(f"unknown parameter(s) for {cls.__name__}: {unknown}")
    return params_from_dict(cls, params)


# ============================================================================ sensors
class ValueRegion(RegionBase):
    """A region fed one value per step (a sensor, a classifier's label, a predictor's target):
    :meth:`prepare_value` checks (or encodes) it without changing anything, and
    :meth:`commit_value` keeps it, so that :meth:`Network.run <htmkit.network.Network.run>`
    checks every value of a step before any is kept."""

    def prepare_value(self, value: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def commit_value(self, prepared: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        """Check ``value`` and keep it for the next compute."""
        self.commit_value(self.prepare_value(value))


class SDRSensor(ValueRegion):
    """A sensor whose value is already an SDR (or a dense 0/1 array) of ``shape``."""

    type_name = "SDRSensor"
    needs_value = True

    def __init__(self, shape: int | tuple[int, ...]):
        self._shape = _shape(shape)
        if not self._shape or min(self._shape) < 1:
            raise ParameterError(f"SDRSensor shape must have positive dimensions, got {shape!r}")
        self._value: SDR | None = None
        self._init_output()

    @property
    def output_shape(self) -> Shape:
        return self._shape

    def prepare_value(self, value: Any) -> SDR | None:
        """``value`` as an SDR of this sensor's size (``None`` stays ``None``: empty)."""
        if value is None:
            return None
        if not isinstance(value, SDR):
            value = SDR.from_dense(np.asarray(value))
        if value.size != _size(self._shape):
            raise InputError(f"sensor value has {value.size} bits, expected shape {self._shape}")
        return value

    def commit_value(self, prepared: SDR | None) -> None:
        """Keep a value returned by :meth:`prepare_value` for the next compute."""
        self._value = prepared

    def _compute(self, inputs: dict[str, SDR], learn: bool) -> SDR:
        return _as_input(self._value, self._shape)

    def describe(self) -> str:
        return "SDRSensor"

    def to_config(self) -> dict[str, Any]:
        return {"type": self.type_name, "params": {"shape": list(self._shape)}}

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], input_shapes: Mapping[str, Shape]) -> SDRSensor:
        _check_cfg_keys(cfg, {"params"}, "SDRSensor")
        params = _params_dict(cfg)
        if set(params) != {"shape"}:
            raise ParameterError("SDRSensor params must be exactly {shape: [...]}")
        return cls(params["shape"])

    @classmethod
    def config_output_shapes(cls, cfg: Mapping[str, Any], ff_shape: Shape | None
                             ) -> dict[str, Shape]:
        return {"output": _shape(_params_dict(cfg)["shape"])}

    def _core_state(self) -> Any:
        return {"shape": list(self._shape)}

    @classmethod
    def _from_core_state(cls, core: Any, options: dict[str, Any]) -> SDRSensor:
        return cls(core["shape"])


class EncoderSensor(ValueRegion):
    """A sensor that encodes its value with an :class:`~htmkit.encoders.Encoder`."""

    type_name = "Encoder"
    needs_value = True

    def __init__(self, encoder: Any, *, field: str | None = None):
        if not hasattr(encoder, "encode") or not hasattr(encoder, "dimensions"):
            raise ParameterError(
                f"encoder: EncoderSensor needs an Encoder, got {type(encoder).__name__}")
        if field is not None and not isinstance(field, str):
            raise ParameterError(
                f"field: an Encoder region's field must be a string, got {field!r}")
        self._core = encoder
        self._field = field
        self._encoded: SDR | None = None  # the value's encoding, set by commit_value
        self._init_output()

    @property
    def field(self) -> str | None:
        """Name of the record field this sensor encodes (prefixes its encoding errors)."""
        return self._field

    @property
    def output_shape(self) -> Shape:
        return tuple(self._core.dimensions)

    def prepare_value(self, value: Any) -> SDR:
        """The encoding of ``value`` (errors prefixed with :attr:`field` when set); the
        sensor is not changed."""
        if self._field is None:
            return self._core.encode(value)
        try:
            return self._core.encode(value)
        except (TypeError, InputError) as exc:
            raise type(exc)(f"{self._field}: {exc}") from None

    def commit_value(self, prepared: SDR) -> None:
        """Keep an encoding returned by :meth:`prepare_value` as the next output."""
        self._encoded = prepared

    def _compute(self, inputs: dict[str, SDR], learn: bool) -> SDR:
        encoded = self._encoded
        if encoded is None:  # computed before any value was set: the encoding of None
            return self.prepare_value(None)
        return encoded

    def describe(self) -> str:
        field = "" if self._field is None else f" ({self._field})"
        return f"Encoder {type(self._core).__name__}{field}"

    def _options(self) -> dict[str, Any]:
        return {} if self._field is None else {"field": self._field}

    def to_config(self) -> dict[str, Any]:
        enc = self._core
        if not dataclasses.is_dataclass(getattr(enc, "params", None)) or any(
            not isinstance(v, (int, float, str, bool, list, type(None)))
            for v in params_to_dict(enc.params).values()
        ):
            raise NotImplementedError(
                f"a {type(enc).__name__} cannot be written to a config; build it in code"
            )
        cfg = {"type": self.type_name, "encoder": type(enc).__name__,
               "params": params_to_dict(enc.params)}
        if self._field is not None:
            cfg["field"] = self._field
        return cfg

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], input_shapes: Mapping[str, Shape]
                    ) -> EncoderSensor:
        _check_cfg_keys(cfg, {"encoder", "params", "field"}, "Encoder")
        from ..encoders.base import encoder_class

        name = cfg.get("encoder")
        if not isinstance(name, str):
            raise ParameterError("an Encoder region needs 'encoder: <EncoderClassName>'")
        enc_cls: Any = encoder_class(name)
        if enc_cls.params_class is None:  # pragma: no cover - all encoders have params
            raise ParameterError(f"{name} cannot be built from a config")
        return cls(enc_cls(_dataclass_from(enc_cls.params_class, _params_dict(cfg))),
                   field=cfg.get("field"))

    @classmethod
    def config_output_shapes(cls, cfg: Mapping[str, Any], ff_shape: Shape | None
                             ) -> dict[str, Shape]:
        return {"output": tuple(cls.from_config(cfg, {}).output_shape)}

    def _core_state(self) -> Any:
        return {"encoder": type(self._core).__name__, "state": self._core.get_state()}

    @classmethod
    def _from_core_state(cls, core: Any, options: dict[str, Any]) -> EncoderSensor:
        from ..encoders.base import encoder_class

        return cls(encoder_class(core["encoder"]).from_state(core["state"]),
                   field=options.get("field"))


# ============================================================================ algorithms
class SpatialPoolerRegion(RegionBase):
    """Adapter around :class:`~htmkit.spatial_pooler.SpatialPooler`.

    Port ``feedforward`` (shape ``input_dimensions``) -> active columns
    (``column_dimensions``). Pass a built pooler, a ``SpatialPoolerParams`` or keyword
    parameters.
    """

    type_name = "SpatialPooler"

    def __init__(self, sp: Any = None, **params: Any):
        SP = _lazy("htmkit.spatial_pooler", "SpatialPooler")
        if sp is None:
            sp = SP(**params)
        elif params:
            raise ParameterError("pass either a SpatialPooler or its parameters, not both")
        elif not isinstance(sp, SP):
            sp = SP(sp)  # a SpatialPoolerParams
        self._core = sp
        self._init_output()

    @property
    def input_shapes(self) -> dict[str, Shape]:
        return {"feedforward": tuple(self._core.params.input_dimensions)}

    @property
    def output_shape(self) -> Shape:
        return tuple(self._core.params.column_dimensions)

    def _compute(self, inputs: dict[str, SDR], learn: bool) -> SDR:
        ff = inputs.get("feedforward")
        if ff is None:
            ff = _as_input(None, self.input_shapes["feedforward"])
        return self._core.compute(ff, learn)

    def reset(self) -> None:
        self._init_output()  # the spatial pooler has no sequence state

    def describe(self) -> str:
        return f"SpatialPooler {self._core.params.num_columns} columns"

    def to_config(self) -> dict[str, Any]:
        return {"type": self.type_name, "params": params_to_dict(self._core.params)}

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], input_shapes: Mapping[str, Shape]
                    ) -> SpatialPoolerRegion:
        params = _params_with_inputs(cfg, input_shapes, "SpatialPooler",
                                     (("feedforward", "input_dimensions", list),))
        P = _lazy("htmkit.spatial_pooler", "SpatialPoolerParams")
        return cls(_dataclass_from(P, params))

    @classmethod
    def config_output_shapes(cls, cfg: Mapping[str, Any], ff_shape: Shape | None
                             ) -> dict[str, Shape]:
        P = _lazy("htmkit.spatial_pooler", "SpatialPoolerParams")
        params = _checked_params(P, _params_dict(cfg))
        if "column_dimensions" not in params:
            raise ParameterError("SpatialPooler params need column_dimensions")
        return {"output": _shape(params["column_dimensions"])}

    def _core_state(self) -> Any:
        return self._core.get_state()

    @classmethod
    def _from_core_state(cls, core: Any, options: dict[str, Any]) -> SpatialPoolerRegion:
        return cls(_lazy("htmkit.spatial_pooler", "SpatialPooler").from_state(core))


#: Outputs a :class:`TemporalMemoryRegion` offers (links pick one with ``output=``).
TM_OUTPUTS = ("active_cells", "predicted_active_cells", "winner_cells", "predictive_cells",
              "columns", "unpredicted_columns")

#: The outputs of :data:`TM_OUTPUTS` shaped like the columns (the others are cells).
_COLUMN_OUTPUTS = ("columns", "unpredicted_columns")


class TemporalMemoryRegion(RegionBase):
    """Adapter around :class:`~htmkit.temporal_memory.TemporalMemory`.

    Ports: ``feedforward`` (active columns, ``column_dimensions``), and ``basal`` /
    ``apical`` (``(external_basal_size,)`` / ``(external_apical_size,)``) when the TM has
    them. Cell outputs have shape ``(*column_dimensions, cells_per_column)`` so they keep the
    column topology (tile them under a parent like any 2-D output).

    Parameters
    ----------
    tm : TemporalMemory or TemporalMemoryParams, optional
        Or pass the TM's keyword parameters.
    output : str
        The main output: one of :data:`TM_OUTPUTS` (``"columns"``: the active columns;
        ``"unpredicted_columns"``: the active columns that were not predicted, the ones the
        TM's raw anomaly counts).
    """

    type_name = "TemporalMemory"

    def __init__(self, tm: Any = None, *, output: str = "active_cells", **params: Any):
        TM = _lazy("htmkit.temporal_memory", "TemporalMemory")
        if output not in TM_OUTPUTS:
            raise ParameterError(f"TemporalMemory output must be one of {TM_OUTPUTS}, "
                                 f"got {output!r}")
        if tm is None:
            tm = TM(**params)
        elif params:
            raise ParameterError("pass either a TemporalMemory or its parameters, not both")
        elif not isinstance(tm, TM):
            tm = TM(tm)
        self._core = tm
        self._output_name = output
        p = tm.params
        self._col_shape = tuple(p.column_dimensions)
        self._cell_shape = (*self._col_shape, int(p.cells_per_column))
        self._cells_per_column = int(p.cells_per_column)
        self._columns: np.ndarray | None = None  # active columns of the last step
        self._mark = np.zeros(int(np.prod(self._col_shape)), dtype=bool)
        self._init_output()

    @property
    def output_name(self) -> str:
        return self._output_name

    @property
    def input_shapes(self) -> dict[str, Shape]:
        p = self._core.params
        shapes = {"feedforward": self._col_shape}
        if p.external_basal_size:
            shapes["basal"] = (int(p.external_basal_size),)
        if p.external_apical_size:
            shapes["apical"] = (int(p.external_apical_size),)
        return shapes

    @property
    def output_shape(self) -> Shape:
        return self._col_shape if self._output_name in _COLUMN_OUTPUTS else self._cell_shape

    @property
    def output_shapes(self) -> dict[str, Shape]:
        shapes = {name: (self._col_shape if name in _COLUMN_OUTPUTS else self._cell_shape)
                  for name in self.output_names}
        shapes["output"] = self.output_shape
        return shapes

    #: The named outputs this region offers.
    output_names: ClassVar[tuple[str, ...]] = TM_OUTPUTS

    def _active_columns(self) -> np.ndarray:
        if self._columns is None:
            self._columns = np.unique(self._core.active_cells.indices // self._cells_per_column)
        return self._columns

    def _predicted_columns(self) -> np.ndarray:
        """Columns of the last step's active cells that had been predicted."""
        return self._core.predicted_active_cells.indices // self._cells_per_column

    def named_output(self, name: str) -> SDR:
        """One of :attr:`output_names` for the last step."""
        if name == "active_cells":
            return _sdr_view(self._cell_shape, self._core.active_cells.indices)
        if name == "columns":
            return _sdr_view(self._col_shape, self._active_columns())
        if name == "unpredicted_columns":
            active = self._active_columns()
            predicted = self._predicted_columns()
            mark = self._mark
            mark[predicted] = True
            unpredicted = active[~mark[active]]
            mark[predicted] = False
            unpredicted.flags.writeable = False
            return _sdr_view(self._col_shape, unpredicted)
        if name not in self.output_names:
            raise KeyError(f"{self.type_name} region has no output {name!r} "
                           f"(outputs: {list(self.output_names)})")
        return _sdr_view(self._cell_shape, getattr(self._core, name).indices)

    @property
    def outputs(self) -> dict[str, SDR]:
        out = {name: self.named_output(name) for name in self.output_names}
        out["output"] = out[self._output_name]
        return out

    @property
    def anomaly(self) -> float:
        return float(self._core.anomaly)

    def _compute(self, inputs: dict[str, SDR], learn: bool) -> SDR:
        ff = inputs.get("feedforward")
        if ff is None:
            ff = _as_input(None, self._col_shape)
        basal = inputs.get("basal")
        apical = inputs.get("apical")
        flat = ff if len(ff.shape) == 1 else ff.flatten()
        self._columns = flat.indices
        self._core.compute(flat, learn,
                           external_basal=None if basal is None else basal.flatten(),
                           external_apical=None if apical is None else apical.flatten())
        return self.named_output(self._output_name)

    def reset(self) -> None:
        self._core.reset()
        self._columns = None
        self._init_output()

    def describe(self) -> str:
        p = self._core.params
        return (f"TemporalMemory {p.num_columns}x{p.cells_per_column} cells, "
                f"output {self._output_name}")

    def _options(self) -> dict[str, Any]:
        return {"output": self._output_name}

    def to_config(self) -> dict[str, Any]:
        return {"type": self.type_name, "output": self._output_name,
                "params": params_to_dict(self._core.params)}

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], input_shapes: Mapping[str, Shape]
                    ) -> TemporalMemoryRegion:
        params = _params_with_inputs(
            cfg, input_shapes, "TemporalMemory",
            (("feedforward", "column_dimensions", list), ("basal", "external_basal_size", _size),
             ("apical", "external_apical_size", _size)),
            allowed=frozenset({"params", "output"}))
        P = _lazy("htmkit.temporal_memory", "TemporalMemoryParams")
        return cls(_dataclass_from(P, params), output=cfg.get("output", "active_cells"))

    @classmethod
    def config_output_shapes(cls, cfg: Mapping[str, Any], ff_shape: Shape | None
                             ) -> dict[str, Shape]:
        P = _lazy("htmkit.temporal_memory", "TemporalMemoryParams")
        params = _checked_params(P, _params_dict(cfg))
        if "column_dimensions" in params:
            cols = _shape(params["column_dimensions"])
        elif ff_shape is not None:
            cols = ff_shape
        else:
            raise ParameterError("TemporalMemory needs column_dimensions or a feedforward link")
        cpc = params.get("cells_per_column",
                         {f.name: f.default for f in dataclasses.fields(P)}["cells_per_column"])
        cells = (*cols, int(cpc))
        shapes = {name: cells for name in TM_OUTPUTS}
        shapes["columns"] = cols
        out = cfg.get("output", "active_cells")
        if out not in TM_OUTPUTS:
            raise ParameterError(f"TemporalMemory output must be one of {TM_OUTPUTS}, "
                                 f"got {out!r}")
        shapes["output"] = shapes[out]
        return shapes

    def _core_state(self) -> Any:
        return self._core.get_state()

    @classmethod
    def _from_core_state(cls, core: Any, options: dict[str, Any]) -> TemporalMemoryRegion:
        tm = _lazy("htmkit.temporal_memory", "TemporalMemory").from_state(core)
        return cls(tm, output=options.get("output", "active_cells"))


class TemporalPoolerRegion(RegionBase):
    """Adapter around :class:`~htmkit.temporal_pooler.TemporalPooler`.

    Ports: ``feedforward`` (the TM's active cells) and ``predicted`` (its predicted-active
    cells; link it with ``output="predicted_active_cells", kind="predicted"``; unlinked means
    nothing predicted). Output: pooler cells (``column_dimensions``).

    Option ``learn`` (default True): False makes the pooler a fixed map with memory (it always
    computes with ``learn=False``, whatever the network's ``learn``).
    """

    type_name = "TemporalPooler"

    def __init__(self, tp: Any = None, *, learn: bool = True, **params: Any):
        from ..temporal_pooler import TemporalPooler

        if not isinstance(learn, bool):
            raise ParameterError(f"TemporalPooler option learn must be true or false, got "
                                 f"{learn!r}")
        self._learn = learn
        if tp is None:
            tp = TemporalPooler(**params)
        elif params:
            raise ParameterError("pass either a TemporalPooler or its parameters, not both")
        elif not isinstance(tp, TemporalPooler):
            tp = TemporalPooler(tp)
        self._core = tp
        self._init_output()

    @property
    def input_shapes(self) -> dict[str, Shape]:
        n = (int(self._core.params.input_size),)
        return {"feedforward": n, "predicted": n}

    @property
    def output_shape(self) -> Shape:
        return tuple(self._core.params.column_dimensions)

    def _compute(self, inputs: dict[str, SDR], learn: bool) -> SDR:
        ff = inputs.get("feedforward")
        if ff is None:
            ff = _as_input(None, self.input_shapes["feedforward"])
        return self._core.compute(ff, learn and self._learn,
                                  predicted_active_cells=inputs.get("predicted"))

    def reset(self) -> None:
        self._core.reset()
        self._init_output()

    def describe(self) -> str:
        fixed = "" if self._learn else ", fixed"
        return f"TemporalPooler {self._core.params.num_cells} cells{fixed}"

    def _options(self) -> dict[str, Any]:
        return {} if self._learn else {"learn": False}

    def to_config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"type": self.type_name, "params": params_to_dict(self._core.params)}
        if not self._learn:
            cfg["learn"] = False
        return cfg

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], input_shapes: Mapping[str, Shape]
                    ) -> TemporalPoolerRegion:
        from ..temporal_pooler import TemporalPoolerParams

        params = _params_with_inputs(cfg, input_shapes, "TemporalPooler",
                                     (("feedforward", "input_size", _size),),
                                     allowed=frozenset({"params", "learn"}))
        return cls(_dataclass_from(TemporalPoolerParams, params),
                   learn=cfg.get("learn", True))

    @classmethod
    def config_output_shapes(cls, cfg: Mapping[str, Any], ff_shape: Shape | None
                             ) -> dict[str, Shape]:
        from ..temporal_pooler import TemporalPoolerParams

        params = _checked_params(TemporalPoolerParams, _params_dict(cfg))
        default = {f.name: f.default for f in dataclasses.fields(TemporalPoolerParams)}
        return {"output": _shape(params.get("column_dimensions",
                                            default["column_dimensions"]))}

    def _core_state(self) -> Any:
        return self._core.get_state()

    @classmethod
    def _from_core_state(cls, core: Any, options: dict[str, Any]) -> TemporalPoolerRegion:
        from ..temporal_pooler import TemporalPooler

        return cls(TemporalPooler.from_state(core), learn=options.get("learn", True))


class ClassifierRegion(ValueRegion):
    """Adapter around :class:`~htmkit.predictor.Predictor` (an SDR classifier).

    Port ``feedforward`` (any shape; its size fixes the predictor's input size). The value
    given in ``Network.run`` (a class index, a list of them, or ``None``) is the label: each
    step the region first infers (:attr:`inference`, ``{step: probabilities}``) and then,
    when learning and a label is given, learns it. The output SDR is a one-hot of the most
    likely class for the first step, of shape ``(max_classes,)``.
    """

    type_name = "Classifier"

    def __init__(self, predictor: Any = None, *, input_shape: Any = None,
                 max_classes: int | None = None, **params: Any):
        from ..predictor import Predictor

        if predictor is None:
            if max_classes is None:
                raise ParameterError("a Classifier region needs max_classes")
            if input_shape is None:
                raise ParameterError("a Classifier region needs input_shape")
            predictor = Predictor(max_classes=max_classes,
                                  input_size=_size(_shape(input_shape)), **params)
        elif params or max_classes is not None:
            raise ParameterError("pass either a Predictor or its parameters, not both")
        p = predictor.params
        if p.max_classes is None or p.input_size is None:
            raise ParameterError("the Classifier region's Predictor needs max_classes and "
                                 "input_size")
        self._core = predictor
        self._input_shape = (_shape(input_shape) if input_shape is not None
                             else (int(p.input_size),))
        if _size(self._input_shape) != p.input_size:
            raise ParameterError(f"input_shape {self._input_shape} does not match the "
                                 f"predictor's input_size {p.input_size}")
        self._label: Any = None
        self._inference: dict[int, np.ndarray] = {}
        self._init_output()

    @property
    def input_shapes(self) -> dict[str, Shape]:
        return {"feedforward": self._input_shape}

    @property
    def output_shape(self) -> Shape:
        return (int(self._core.params.max_classes),)

    @property
    def inference(self) -> dict[int, np.ndarray]:
        """Class probabilities of the last step: ``{step: array}`` (see ``Predictor.infer``)."""
        return self._inference

    def prepare_value(self, value: Any) -> Any:
        """Check the label ``value`` (``None``, a class index ``< max_classes`` or a list of
        them) without changing anything; returns it."""
        self._core._check_label(value)
        return value

    def commit_value(self, prepared: Any) -> None:
        """Keep a label returned by :meth:`prepare_value` for the next compute."""
        self._label = prepared

    def _compute(self, inputs: dict[str, SDR], learn: bool) -> SDR:
        pattern = inputs.get("feedforward")
        if pattern is None:
            pattern = _as_input(None, self._input_shape)
        pattern = pattern.flatten()
        pred = self._core
        self._inference = pred.infer(pattern)
        if learn:
            pred.learn(pattern, self._label)
        self._label = None
        first = self._inference.get(pred.params.steps[0])
        idx = [] if first is None or first.size == 0 else [int(np.argmax(first))]
        return SDR._trusted(self.output_shape, np.asarray(idx, dtype=np.int64))

    def reset(self) -> None:
        self._core.reset()
        self._label = None
        self._inference = {}
        self._init_output()

    def describe(self) -> str:
        return f"Classifier {self._core.params.max_classes} classes"

    def _options(self) -> dict[str, Any]:
        return {"input_shape": list(self._input_shape)}

    def to_config(self) -> dict[str, Any]:
        params = params_to_dict(self._core.params)
        params.pop("input_size", None)
        return {"type": self.type_name, "input_shape": list(self._input_shape),
                "params": params}

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], input_shapes: Mapping[str, Shape]
                    ) -> ClassifierRegion:
        _check_cfg_keys(cfg, {"params", "input_shape"}, "Classifier")
        params = _params_dict(cfg)
        shape = cfg.get("input_shape", input_shapes.get("feedforward"))
        params.pop("input_size", None)
        if "steps" in params and isinstance(params["steps"], list):
            params["steps"] = tuple(params["steps"])
        return cls(input_shape=shape, **params)

    @classmethod
    def config_output_shapes(cls, cfg: Mapping[str, Any], ff_shape: Shape | None
                             ) -> dict[str, Shape]:
        params = _params_dict(cfg)
        if "max_classes" not in params:
            raise ParameterError("a Classifier region needs params.max_classes")
        return {"output": (int(params["max_classes"]),)}

    def _core_state(self) -> Any:
        return self._core.get_state()

    @classmethod
    def _from_core_state(cls, core: Any, options: dict[str, Any]) -> ClassifierRegion:
        from ..predictor import Predictor

        return cls(Predictor.from_state(core), input_shape=options.get("input_shape"))
