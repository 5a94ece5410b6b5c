"""The one exception type that reaches the user.

Anything the user can fix (a missing file, a device that is not there, a bad option) is raised as ``VbgError``
with a one-line message that names the problem and what to do.  The CLI prints it and exits non-zero without a
traceback; anything else is a bug and keeps its traceback.
"""


class VbgError(Exception):
    """A problem with the user's input or environment, described in one actionable line."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C, so a terminated job finishes its outputs the same way
    (every stage that handles ``KeyboardInterrupt`` handles this too); the CLI then exits with 143."""
