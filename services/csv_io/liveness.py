"""Whether the process that runs an import job is still alive.

A job names its runner as host/boot/pid/start: the host, the boot it runs in, the
process id and the process's start time since boot (so a reused pid is not mistaken for
it). On the same host and boot that is checked directly. A runner on another host is
judged by its heartbeat (progress saves) instead: on SQLite every runner shares the host.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from pathlib import Path

# A runner on another host that has not saved progress for this long is gone. Progress
# is saved every few batches (seconds apart on a loaded server).
STALE_AFTER = timedelta(minutes=10)

_PROC = Path("/proc")


def _boot_id() -> str:
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "-"


def _start_of(pid: int) -> str | None:
    """The process's start time in clock ticks since boot; "-" where /proc is not there;
    None if no such process."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return "-" if _pid_exists(pid) else None
    # The command name (field 2) may hold spaces and parentheses: fields after its ")".
    return stat.rsplit(")", 1)[1].split()[19]


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def this_process() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}/{_boot_id()}/{pid}/{_start_of(pid) or '-'}"


def runner_gone(runner: str | None, heartbeat_at: datetime | None, now: datetime) -> bool:
    """True when the job's runner certainly ended: on this host, its process is gone;
    elsewhere (or unknown), its last heartbeat is older than STALE_AFTER."""
    parts = (runner or "").split("/")
    if len(parts) == 4 and parts[0] == socket.gethostname():
        _, boot, pid, start = parts
        if boot != _boot_id():
            return True  # the host restarted since
        found = _start_of(int(pid))
        return found is None or (start != "-" and found != "-" and found != start)
    return heartbeat_at is None or now - heartbeat_at > STALE_AFTER
