"""``vbg presets``: the settings bundles installed with vbg, for ``--config NAME``."""

from __future__ import annotations

import argparse


def add_presets_parser(sub) -> None:
    p = sub.add_parser("presets", help="list the presets for --config NAME (or show one with --show NAME)")
    p.add_argument("--show", metavar="NAME", help="print one preset's settings (copy it to make your own)")
    p.set_defaults(func=cmd_presets)


def cmd_presets(args: argparse.Namespace) -> int:
    from ..config import PRESETS, find_config, preset_summary, presets

    if args.show:
        print(find_config(args.show).read_text(), end="")
        return 0
    found = presets()
    width = max(map(len, found))
    for name, path in found.items():
        print(f"{name:{width}s}  {preset_summary(path)}")
    print(f"\nuse: vbg run --config NAME (flags override it); files in {PRESETS}")
    return 0
