"""User-facing errors: one line that says what went wrong and what to do."""

from __future__ import annotations


class WordcamError(Exception):
    """An error caused by the user's input or environment.

    The CLI prints ``str(error)`` as a single line (no traceback) and exits non-zero.
    The message should name the offending thing and say what to do about it.
    """


class ImageError(WordcamError):
    """An image file could not be read (missing, empty, truncated, not an image, too large)."""

    def __init__(self, path: object, cause: str) -> None:
        self.path = str(path)
        self.cause = cause
        super().__init__(f"{self.path}: {cause}")


class ModelError(WordcamError):
    """A model spec, checkpoint or labels file is unusable."""


class ExplainerError(WordcamError):
    """An explainer cannot run (missing key, unreachable server, bad template...)."""


class DataError(WordcamError):
    """A dataset, corpus or database does not have what the command needs."""
