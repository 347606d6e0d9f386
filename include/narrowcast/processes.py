"""Which process on which machine owns something (a lease, a scratch folder), and whether it is known to be gone."""

from __future__ import annotations

import os
import socket


def pid_scope() -> str:
    """The pid namespace this process's pid is counted in (containers sharing a hostname get different ones)."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def this_process() -> dict[str, str | int]:
    """The owner record of this process: ``host``, ``pid_scope`` and ``pid``."""
    return {"host": socket.gethostname(), "pid_scope": pid_scope(), "pid": os.getpid()}


def process_gone(host: str, pid_scope_of: str, pid: int) -> bool:
    """Whether the owner is known to be dead: it ran on this host, in this pid namespace, and no process has its
    pid any more. An owner elsewhere is never presumed dead."""
    if (host, pid_scope_of) != (socket.gethostname(), pid_scope()):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. another user's process: alive
        return False
    return False
