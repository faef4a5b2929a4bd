"""Exceptions raised by htmkit.

Every error a user can provoke with bad input derives from :class:`HTMKitError` and from the
matching built-in (``ValueError`` / ``TypeError``), so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class HTMKitError(Exception):
    """Base class of all htmkit errors."""


class ParameterError(HTMKitError, ValueError):
    """A parameter is out of range or inconsistent; the message names the parameter."""


class InputError(HTMKitError, ValueError):
    """Input data has the wrong shape, range or content; the message names the problem."""


class InputTypeError(InputError, TypeError):
    """Input data of the wrong type (e.g. not an SDR, not a number); the message names the
    argument or field. Also a ``TypeError``, so ``except TypeError`` keeps working."""


class FormatError(HTMKitError, ValueError):
    """A saved file is truncated, corrupted, of another class or of an unsupported version."""


class DataError(HTMKitError, ValueError):
    """A data file (CSV, IDX, NAB corpus) is missing or malformed.

    The message names the file and, where it applies, the row and column.
    """
