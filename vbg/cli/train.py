"""``vbg train``: fine-tune U2NETP on image + mask folders (see ``vbg.train.trainer`` for the recipe)."""

from __future__ import annotations

import argparse
from dataclasses import fields

from ..model import weights as registry


def add_train_parser(sub) -> None:
    from ..train.config import TrainConfig

    d = {f.name: f.default for f in fields(TrainConfig) if not callable(f.default_factory)}
    p = sub.add_parser("train", help="fine-tune U2NETP on person masks (needs torch; slow without AMX/BF16)",
                       description="Fine-tune U2NETP from the official weights on folders of images/ and masks/.")
    p.add_argument("--data", action="append", default=[], metavar="DIR[:N]", required=True,
                   help="folder with images/ and masks/ (same stems; masks 0/255 PNG); repeat for several; "
                        "DIR:N uses its training images N times per epoch (to weigh one kind of framing)")
    p.add_argument("--backgrounds", metavar="DIR", help="photos without people to composite the cut-outs onto")
    p.add_argument("--out", default=d["out"], help="checkpoints, weights.pth and scores (default %(default)s)")
    p.add_argument("--init", metavar="PTH", help="starting weights (default: the official u2netp.pth, found like "
                                                 "--weights is)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--epochs", type=float, default=d["epochs"], help="default %(default)s")
    p.add_argument("--max-steps", type=int, help="stop after this many steps in all")
    p.add_argument("--minutes", type=float, help="stop after this many minutes (a checkpoint is written)")
    p.add_argument("--batch-size", type=int, default=d["batch_size"], help="default %(default)s")
    p.add_argument("--lr", type=float, default=d["lr"], help="peak learning rate (default %(default)s)")
    p.add_argument("--composite", type=float, default=d["composite"],
                   help="share of samples pasted onto a --backgrounds photo or a people-free scene of the data "
                        "(a folder whose masks are empty), the rest are crops of the photo itself (default "
                        "%(default)s)")
    p.add_argument("--groups", type=float, default=d["groups"],
                   help="share of the composites with two or three people, all of them the truth (default "
                        "%(default)s)")
    p.add_argument("--portrait-groups", type=float, default=d["portrait_groups"], metavar="SHARE",
                   help="--groups for portrait subjects only (default: as --groups); whole people keep --groups")
    p.add_argument("--crowds", type=float, default=d["crowds"],
                   help="share of the composites with a crowd of much smaller people behind the subject, who "
                        "are background (default %(default)s)")
    p.add_argument("--objects", metavar="DIR",
                   help="object masks of the people-free scenes of the data (DIR/masks/<scene stem>.png, made by "
                        "python -m vbg.train.objects): where the animal, car or ball is, to paste people beside it")
    p.add_argument("--beside", type=float, default=d["beside"], metavar="SHARE",
                   help="share of the composites with the person beside or in front of one of those objects, "
                        "which stays background (needs --objects; default %(default)s)")
    p.add_argument("--far-weight", type=float, default=d["far_weight"], metavar="W",
                   help="weigh the loss of pixels more than a few pixels from the person's outline 1+W times: "
                        "there an error is a visible ghost or hole (default %(default)s)")
    p.add_argument("--blend", type=float, default=d["blend"], metavar="SHARE",
                   help="weights.pth keeps this share of what training changed from --init (0-1; below 1 keeps more "
                        "of the starting weights' accuracy; validation scores these weights) (default %(default)s)")
    p.add_argument("--average-with", action="append", default=[], metavar="WEIGHTS",
                   help="weights.pth is the mean of this run's weights and these (other runs from the same --init; "
                        "repeatable); with --resume after the run's end, scores and writes that mean")
    p.add_argument("--val-fraction", type=float, default=d["val_fraction"],
                   help="share of each folder held out for validation, chosen by file-name hash (default %(default)s)")
    p.add_argument("--val-limit", type=int, help="score at most this many validation images per folder")
    p.add_argument("--val-frames", type=int, default=d["val_frames"], metavar="N",
                   help="also score N frames of held-out people in groups and N before a crowd, per photo folder, "
                        "made on the --backgrounds (reported, not part of the best-weights score; default "
                        "%(default)s, 0: none)")
    p.add_argument("--score", action="append", default=[], metavar="DIR",
                   help="a folder with images/ and masks/ scored whole at each validation and never trained on "
                        "(e.g. photos labelled by the teacher, to watch a kind of picture the training leaves out); "
                        "reported as 'DIR scored', not part of the best-weights score; repeatable")
    p.add_argument("--seed", type=int, default=d["seed"], help="default %(default)s")
    p.add_argument("--bf16", choices=["auto", "on", "off"], default=d["bf16"],
                   help="bf16 autocast: auto = where the CPU has AMX or AVX512-BF16 (default %(default)s)")
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from ..train.config import check_weights_file
    from ..train.data import check_folders

    check_folders(args.data, args.backgrounds, args.objects, args.score)
    for flag, path in [("--init", args.init), *(("--average-with", p) for p in args.average_with)]:
        if path is not None:
            check_weights_file(path, flag)
    from ..train.trainer import TrainConfig, Trainer

    init = args.init
    if init is None and not args.resume:
        init = str(registry.resolve_weights(registry.get_spec("u2net_lite")))
    config = TrainConfig(data=args.data, backgrounds=args.backgrounds, out=args.out, init=init, epochs=args.epochs,
                         max_steps=args.max_steps, minutes=args.minutes, batch_size=args.batch_size, lr=args.lr,
                         composite=args.composite, groups=args.groups,
                         portrait_groups=args.portrait_groups, crowds=args.crowds, blend=args.blend,
                         objects=args.objects, beside=args.beside,
                         average_with=args.average_with, far_weight=args.far_weight,
                         val_fraction=args.val_fraction, val_limit=args.val_limit,
                         val_frames=args.val_frames, score=args.score, seed=args.seed, bf16=args.bf16)
    path = Trainer(config, resume=args.resume).run()
    print(f"vbg train: best weights {path} (scores in {config.out}/scores.md); use them with --weights {path}")
    return 0
