"""``vbg service install|remove|show``: start vbg with the session (a ``systemd --user`` unit; ``vbg.service``)."""

from __future__ import annotations

import argparse


def add_service_parser(sub) -> None:
    p = sub.add_parser("service", help="start vbg at login on the virtual camera (a systemd --user unit)",
                       description="Install, remove or show a systemd --user unit that runs "
                                   "`vbg run --config webcam --vcam --no-window --name service` at login; it is "
                                   "idle while no app has the virtual camera open.")
    actions = p.add_subparsers(dest="action", required=True, parser_class=type(p))
    install = actions.add_parser("install", help="write the unit, enable and start it",
                                 description="Write ~/.config/systemd/user/vbg.service and start it.  Options "
                                             "after -- go to vbg run, e.g. vbg service install -- --background "
                                             "~/beach.jpg")
    install.add_argument("--no-start", action="store_true", help="write the unit only (it starts at next login)")
    install.add_argument("run_args", nargs=argparse.REMAINDER, metavar="-- RUN_OPTION",
                         help="vbg run options for the service")
    actions.add_parser("remove", help="stop, disable and delete the unit")
    actions.add_parser("show", help="print the installed unit")
    p.set_defaults(func=cmd_service)


def check_run_args(extra: list[str]) -> None:
    """Parse the unit's ``vbg run`` command line now with ``vbg run``'s own parser, so a typo fails at install
    time with the usual one-line error instead of at every login in the journal."""
    import contextlib
    import io

    from ..errors import VbgError
    from ..service import BASE_ARGS
    from .common import CliParser
    from .run import add_run_parser

    parser = CliParser(prog="vbg")
    add_run_parser(parser.add_subparsers(dest="command", parser_class=CliParser))
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):
            parser.parse_args([*BASE_ARGS, *extra])
    except SystemExit as exc:
        if exc.code:
            why = said.getvalue().strip().removeprefix("vbg: error: ").split("; see ")[0]
            raise VbgError(f"the service's vbg run options are not valid: {why}; fix them and install again"
                           ) from None


def cmd_service(args: argparse.Namespace) -> int:
    from ..service import UNIT_NAME, install, remove, unit_dir

    extra = getattr(args, "run_args", [])
    extra = extra[1:] if extra[:1] == ["--"] else extra
    if args.action == "show":
        path = unit_dir() / UNIT_NAME
        print(path.read_text() if path.exists() else f"no vbg service installed ({path})", end="")
        return 0
    if args.action == "install":
        check_run_args(extra)
    path, result = install(extra, start=not args.no_start) if args.action == "install" else remove()
    done = "installed" if args.action == "install" else "removed"
    print(f"vbg: {done} {path}")
    if result is not None and not result.ok:
        then = ("it starts at your next login, or now with systemctl --user enable --now vbg" if done == "installed"
                else "it will not start at the next login")
        print(f"vbg: systemd's user manager did not answer ({result.message or 'no reply'}): {then}")
    elif result is not None:
        print(f"vbg: {'started; stop with systemctl --user stop vbg' if args.action == 'install' else 'stopped'}")
    return 0
