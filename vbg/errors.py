"""The one exception type that reaches the user.

Anything the user can fix (a missing file, a device that is not there, a bad option) is raised as ``VbgError``
with a one-line message that names the problem and what to do.  The CLI prints it and exits non-zero without a
traceback; anything else is a bug and keeps its traceback.  Things vbg fixed by itself (the job goes on) are
``notice`` lines through the ``vbg`` logger, printed as ``vbg: ...`` on stderr.
"""

from __future__ import annotations

import logging
import sys


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is logged (pytest and tqdm replace it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


log = logging.getLogger("vbg")
if not log.handlers:
    _handler = _CurrentStderr()
    _handler.setFormatter(logging.Formatter("vbg: %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def notice(message: str) -> None:
    """One line on stderr for something vbg fixed or decided by itself (not an error: the job goes on)."""
    log.warning(message)


class VbgError(Exception):
    """A problem with the user's input or environment, described in one actionable line."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C, so a terminated job finishes its outputs the same way
    (every stage that handles ``KeyboardInterrupt`` handles this too); the CLI then exits with 143."""
