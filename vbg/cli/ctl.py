"""``vbg ctl``: steer a running live job (``vbg run ... --name NAME``) through its control socket."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

def add_ctl_parser(sub) -> None:
    from ..pipeline.commands import VERBS
    from ..pipeline.ctlsocket import DEFAULT_NAME

    verbs = "; ".join(f"{verb} {args}".rstrip() for verb, args in VERBS.items())
    p = sub.add_parser("ctl", help="steer a running live job: background, mode, blur, pause, status, ...",
                       description=f"Change a running live job (vbg run) without stopping it. Verbs: {verbs}; "
                                   f"list shows the running jobs.")
    p.add_argument("--name", default=DEFAULT_NAME, help="the run's --name (default %(default)s)")
    p.add_argument("verb", choices=["list", *VERBS], help="what to do")
    p.add_argument("args", nargs="*", help="the verb's argument")
    p.set_defaults(func=cmd_ctl)


def cmd_ctl(args: argparse.Namespace) -> int:
    from ..errors import VbgError
    from ..pipeline.ctlsocket import request, socket_dir, socket_path

    if args.verb == "list":
        for path in sorted(socket_dir().glob("*.sock")):
            try:
                status = request(path, "status", [], timeout=2.0).get("status", {})
            except (OSError, ValueError):
                continue  # a socket a dead run left behind
            print(f"{path.stem}\t{status.get('input')}\t{status.get('mode')}: {status.get('background')}")
        return 0
    values = [_absolute(a) if args.verb in ("background", "pause") else a for a in args.args]
    path = socket_path(args.name)
    try:
        reply = request(path, args.verb, values)
    except (FileNotFoundError, ConnectionRefusedError):
        raise VbgError(f"no vbg run named {args.name!r} is listening on {path}: start one with "
                       f"vbg run ... --name {args.name} (vbg ctl list shows the running ones)") from None
    except (OSError, ValueError) as exc:
        raise VbgError(f"the run on {path} did not answer ({exc}): check it with vbg ctl list") from None
    if not reply.get("ok"):
        raise VbgError(reply.get("error", "the run refused the request"))
    if "status" in reply:
        print(json.dumps(reply["status"], indent=2))
    elif reply.get("queued"):
        print(f"{args.verb}: queued (applied with the next frame)")
    else:
        print(f"{args.verb}: done (from output frame {reply.get('frame')})")
    return 0


def _absolute(arg: str) -> str:
    """A file named relative to the caller's folder, for a run started elsewhere."""
    path = Path(arg).expanduser()
    return str(path.resolve()) if path.exists() else arg
