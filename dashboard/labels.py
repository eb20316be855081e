"""Class names in the screen's language (see :mod:`core.report.names`, shared with the report)."""

from __future__ import annotations

from core.report.names import localized, namer

__all__ = ["localized", "namer"]
