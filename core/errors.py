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


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk is full (``ENOSPC``, or DuckDB's message for it)."""
    import errno

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return "no space left on device" in text or "disk quota exceeded" in text


def disk_full_error(where: object) -> DataError:
    """The one-line error of a job stopped by a full disk (the job resumes after a rerun)."""
    return DataError(
        f"disk full while writing {where}: the job stopped (marked failed) and its finished "
        "results are kept; free some space and rerun the same command to resume"
    )
