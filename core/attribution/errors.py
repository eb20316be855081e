"""The one error type of :mod:`core.attribution`."""

from __future__ import annotations

from core.errors import WordcamError


class AttributionError(WordcamError):
    """A CAM request that cannot be served (unknown method, layer, class or input)."""
