"""Which processes have a device node open, read from ``/proc/*/fd``.

Why: a virtual camera that offers capture only is either fed by a live writer (someone holds it) or left stuck
by a dead one (nobody does), and the fix differs; ``vbg doctor`` names the holders so that ``kill PID`` can be
the fix, and ``ReaderWatch`` starts its count of watchers from them.  Only the processes that ``/proc`` lets
this user see are counted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Holder:
    """A process that has a file open: its id and its name (``/proc/PID/comm``)."""

    pid: int
    name: str

    def __str__(self) -> str:
        return f"{self.name} (PID {self.pid})"


def _opening_pids(path: str) -> Iterator[int]:
    """The process id behind every descriptor that other processes hold on ``path`` (those ``/proc`` shows)."""
    target = os.path.realpath(path)
    me = str(os.getpid())
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or proc.name == me:
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.path.realpath(fd) == target:
                    yield int(proc.name)
        except OSError:  # gone meanwhile, or not ours to read
            continue


def other_openers(path: str) -> int:
    """How many open descriptors other processes hold on ``path`` (those that ``/proc`` lets us see)."""
    return sum(1 for _ in _opening_pids(path))


def holders(path: str) -> list[Holder]:
    """The other processes that have ``path`` open, once each, by process id."""
    found = []
    for pid in sorted(set(_opening_pids(path))):
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            name = "?"
        found.append(Holder(pid, name))
    return found
