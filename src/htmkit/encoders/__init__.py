"""Encoders: turn numbers, dates, categories, records and images into SDRs.

Every encoder has ``encode(value) -> SDR``, ``size`` and ``dimensions``, keeps its parameters
in a frozen validated dataclass (``encoder.params``; a bad parameter raises
:class:`~htmkit.errors.ParameterError` naming it) and is persistable (``save`` / ``load``).
Missing values (``None``, NaN, ``pandas.NA``/``NaT``) encode to an SDR with no active bits.

* :class:`ScalarEncoder` -- contiguous block of active bits, bounded range, optional wrap.
* :class:`RDSE` -- random distributed scalar encoder, hash-based, unbounded range.
* :class:`DateEncoder` -- season, day of week, weekend, holiday, time of day.
* :class:`CategoryEncoder` -- one disjoint block per int/str category.
* :class:`MultiEncoder` -- named fields of a record concatenated into one SDR.
* :class:`ImageEncoder` -- thresholded grayscale image (+ edge/orientation channels), 2-D.
"""

from __future__ import annotations

from .base import Encoder, is_missing
from .category import CategoryEncoder, CategoryEncoderParams
from .date import DateEncoder, DateEncoderParams
from .image import ImageEncoder, ImageEncoderParams
from .multi import MultiEncoder, MultiEncoderParams
from .rdse import RDSE, RDSEParams
from .scalar import ScalarEncoder, ScalarEncoderParams

__all__ = [
    "Encoder",
    "is_missing",
    "ScalarEncoder",
    "ScalarEncoderParams",
    "RDSE",
    "RDSEParams",
    "DateEncoder",
    "DateEncoderParams",
    "CategoryEncoder",
    "CategoryEncoderParams",
    "MultiEncoder",
    "MultiEncoderParams",
    "ImageEncoder",
    "ImageEncoderParams",
]
