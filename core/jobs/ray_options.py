"""Where a job runs: its engine and device (:class:`EngineOptions`), and the Ray engine's options.

Runtime-only, like ``--concurrency``: they never enter a run's identity, so a run started
locally resumes on Ray and the other way round. Standard library only (plain, picklable data).
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

from core.errors import WordcamError

#: The photo job's engines: ``local`` (this process) and ``ray`` (:mod:`core.jobs.ray_engine`).
ENGINES = ("local", "ray")


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide the Ray engine runs.

    ``address``: a running cluster (``ray://host:10001``, ``host:6379`` or ``auto``); None
    joins the Ray already initialised in this process, else ``RAY_ADDRESS``, else starts a
    local one. ``actors``: model+explainer actors (None: one per ``cpus_per_actor`` CPUs of
    the cluster, or per ``gpus_per_actor`` GPUs when set). ``plugins``: modules (``pkg.mod``)
    or ``.py`` files each actor imports first, for backends registered at run time rather
    than through entry points.
    """

    address: str | None = None
    actors: int | None = None
    gpus_per_actor: float = 0.0
    cpus_per_actor: float = 1.0
    plugins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.actors is not None and self.actors < 1:
            raise WordcamError(f"--actors must be at least 1 (got {self.actors})")
        if self.gpus_per_actor < 0:
            raise WordcamError(f"--gpus-per-actor must be 0 or more (got {self.gpus_per_actor})")
        if self.cpus_per_actor <= 0:
            raise WordcamError(f"cpus_per_actor must be positive (got {self.cpus_per_actor})")
        object.__setattr__(self, "plugins", tuple(str(p) for p in self.plugins))
        if self.address is not None:
            cluster_endpoint(self.address)  # a malformed --ray-address is one line at once


_ADDRESS = re.compile(
    r"(?:ray://)?(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9._-]+)):(?P<port>\d{1,5})"
)
#: Seconds :func:`check_reachable` waits for a cluster's port to accept a connection.
CONNECT_TIMEOUT = 3.0


def cluster_endpoint(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``ray://HOST:PORT`` or ``HOST:PORT``; None for ``auto``/``local``.

    A malformed address is a one-line :class:`WordcamError` (Ray itself would end in a
    traceback, or wait minutes for a host that never answers).
    """
    if address in ("auto", "local"):
        return None
    found = _ADDRESS.fullmatch(address)
    if found is None:
        raise WordcamError(_bad_address(address, "expected ray://HOST:PORT, HOST:PORT or auto"))
    port = int(found["port"])
    if not 0 < port < 65536:
        raise WordcamError(_bad_address(address, f"the port {port} is not 1-65535"))
    return found["v6"] or found["host"], port


def check_reachable(address: str | None, timeout: float = CONNECT_TIMEOUT) -> None:
    """A one-line :class:`WordcamError` when nothing accepts connections at ``address``.

    Checked before ``ray.init``, which waits for minutes on an address nobody answers at.
    """
    endpoint = None if address is None else cluster_endpoint(address)
    if endpoint is None:
        return
    try:
        socket.create_connection(endpoint, timeout=timeout).close()
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise WordcamError(
            f"no Ray cluster answers at --ray-address {address} ({reason}); start one with "
            "`ray start --head` or pass the head's address"
        ) from None


def _bad_address(address: str, why: str) -> str:
    return f"--ray-address {address!r} is not a Ray address ({why})"


def check_engine(engine: str) -> None:
    """Raise a one-line error for an unknown engine name."""
    if engine not in ENGINES:
        raise WordcamError(f"unknown engine {engine!r}; use {' or '.join(ENGINES)}")


@dataclass(frozen=True)
class EngineOptions:
    """Where a job runs, the part every job shares: ``engine`` (``local`` or ``ray``), the
    torch ``device`` (``auto``, ``cpu``, ``cuda[:N]``) and the Ray options. Never part of what
    a job computes: changing them resumes the same run (or verification)."""

    engine: str = "local"
    device: str = "auto"
    ray: RayOptions = RayOptions()

    def __post_init__(self) -> None:
        check_engine(self.engine)
