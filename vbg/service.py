"""Start with the session: a ``systemd --user`` unit that runs vbg's webcam preset on the virtual camera.

The unit runs ``vbg run --config webcam --vcam --no-window`` (plus the user's own ``vbg run`` options) with
this interpreter, so it uses the vbg that installed it.  With the virtual camera as the only output, vbg
releases the webcam and runs nothing while no app has the virtual camera open (README, "A video call"), so a
unit that starts at login costs nothing until a call opens the camera.  ``Restart=on-failure`` brings it back
after a crash; a clean stop (``systemctl --user stop vbg``) stays stopped.  The run is named ``service`` so
``vbg ctl --name service`` steers it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import VbgError

UNIT_NAME = "vbg.service"
#: what the unit runs before the user's own options (which win where they repeat one)
BASE_ARGS = ("run", "--config", "webcam", "--vcam", "--no-window", "--name", "service")


def unit_dir() -> Path:
    """Where ``systemd --user`` looks for the user's own units."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user"


def unit_text(extra: list[str]) -> str:
    """The unit file for ``vbg run`` with the service's options and ``extra``, run from the current folder (so
    relative paths in ``extra``, such as a background picture, mean what they meant at install time)."""
    command = shlex.join([sys.executable, "-m", "vbg", *BASE_ARGS, *extra])
    return f"""[Unit]
Description=vbg virtual background on the virtual camera (idle while no app watches it)

[Service]
WorkingDirectory={Path.cwd()}
ExecStart={command}
Restart=on-failure
RestartSec=5

[Install]
WantedBy=default.target
"""


@dataclass(frozen=True)
class SystemctlResult:
    """What ``systemctl --user`` said, or why it could not be asked."""

    ok: bool
    message: str


def systemctl(*args: str) -> SystemctlResult:
    """``systemctl --user ARGS``; a machine without a user manager (a container, an SSH session without
    lingering) is a message, not an error: the unit file is still in place for the next login."""
    if shutil.which("systemctl") is None:
        return SystemctlResult(False, "systemctl is not installed")
    proc = subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True, timeout=30)
    text = " ".join((proc.stderr or proc.stdout).split())
    return SystemctlResult(proc.returncode == 0, text)


def install(extra: list[str], start: bool = True) -> tuple[Path, SystemctlResult | None]:
    """Write the unit (replacing an older one) and, with ``start``, enable and start it.  ``extra`` is taken as
    it is: ``vbg service install`` has checked it against ``vbg run``'s own parser."""
    folder = unit_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / UNIT_NAME
        tmp = path.with_suffix(".tmp")
        tmp.write_text(unit_text(extra))
        os.replace(tmp, path)
    except OSError as exc:
        raise VbgError(f"cannot write the unit in {folder} ({exc.strerror or exc}): set XDG_CONFIG_HOME to a "
                       f"writable folder") from None
    if not start:
        return path, None
    reload = systemctl("daemon-reload")
    return path, reload if not reload.ok else systemctl("enable", "--now", UNIT_NAME)


def remove() -> tuple[Path, SystemctlResult | None]:
    """Stop and disable the unit, then delete it; nothing installed is an error that says so."""
    path = unit_dir() / UNIT_NAME
    if not path.exists():
        raise VbgError(f"no vbg service is installed ({path} does not exist): vbg service install adds one")
    stopped = systemctl("disable", "--now", UNIT_NAME)
    path.unlink()
    systemctl("daemon-reload")
    return path, stopped
