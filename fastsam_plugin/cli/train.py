"""``napari-fastsam train`` and ``train-demo-clip``: datasets converted, models fine-tuned with Ultralytics."""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from .args import float_range, int_range


def add_parser(sub) -> None:
    train = sub.add_parser("train", help="train or fine-tune a class-agnostic FastSAM-style model")
    src = train.add_mutually_exclusive_group(required=True)
    src.add_argument("--synthetic", type=int_range(1), metavar="N", help="generate N synthetic training scenes")
    src.add_argument("--coco", type=Path, metavar="JSON", help="COCO instance annotations (with --images)")
    src.add_argument("--sa1b", type=Path, metavar="DIR", help="SA-1B folder of image + per-image JSON")
    src.add_argument("--label-folder", type=Path, metavar="DIR", help="label images (with --images)")
    src.add_argument("--bsds", type=Path, metavar="ROOT", help="BSDS500 root (images/, groundTruth/)")
    src.add_argument("--data", type=Path, metavar="YAML", help="an existing Ultralytics data.yaml")
    src.add_argument("--nuclei", type=int_range(1), metavar="N",
                     help="generate N fluorescence-nuclei scenes (see --real-nuclei)")
    src.add_argument("--trees", type=Path, metavar="DIR",
                     help="Urban Tree Detection tiles (../shared/data/aerial/urban-trees): crowns grown from the points")
    src.add_argument("--resume", action="store_true",
                     help="continue the interrupted run <workdir>/<name> from its weights/last.pt")
    train.add_argument("--images", type=Path, help="image folder for --coco / --label-folder")
    train.add_argument("--val-fraction", type=float_range(0.0, 0.9), default=0.1)
    train.add_argument("--n-val", type=int_range(1), default=100, help="validation scenes for --synthetic")
    train.add_argument("--real-nuclei", type=int_range(0), default=0, metavar="N",
                       help="with --nuclei: add N augmented crops of the real DSB2018 image's training columns")
    train.add_argument("--real-data", type=Path, default=None, metavar="DIR",
                       help="folder holding nuclei2d_dsb2018.tif and its labels (for --real-nuclei)")
    train.add_argument("--workers", type=int_range(0), default=None, help="data-loader processes (0 on busy machines)")
    train.add_argument("--model", default="demo", help="demo, FastSAM-s, FastSAM-x, a YAML or a .pt")
    train.add_argument("--epochs", type=int_range(1), default=30)
    train.add_argument("--imgsz", type=int_range(32, 8192), default=320)
    train.add_argument("--batch", type=int, default=16)
    train.add_argument("--lr0", type=float, default=None, metavar="LR",
                       help="AdamW with this initial learning rate, e.g. a low one to fine-tune a trained model "
                            "(default: Ultralytics chooses the optimizer and rate)")
    train.add_argument("--device", default="cpu")
    train.add_argument("--reg-max", type=int, default=None)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--workdir", type=Path, default=Path("runs/fastsam"))
    train.add_argument("--name", default="train")
    clip = sub.add_parser("train-demo-clip", help="train the small demo CLIP on synthetic shape crops")
    clip.add_argument("--out", type=Path, required=True, help="checkpoint to write (.pt)")
    clip.add_argument("--scenes", type=int_range(1), default=2000)
    clip.add_argument("--steps", type=int_range(1), default=800)
    clip.add_argument("--batch", type=int_range(1), default=256)
    clip.add_argument("--seed", type=int, default=0)
    train.set_defaults(func=cmd_train)
    clip.set_defaults(func=cmd_train_demo_clip)


#: flag -> (attribute, must be a folder (True) or a file (False))
_PATH_FLAGS = {"--coco": ("coco", False), "--sa1b": ("sa1b", True), "--label-folder": ("label_folder", True),
               "--bsds": ("bsds", True), "--data": ("data", False), "--trees": ("trees", True),
               "--images": ("images", True), "--real-data": ("real_data", True)}


def check_train_args(args) -> None:
    """Refuse, before any dataset is built or model loads, paths that are not there and missing companions.

    Raises
    ------
    UsageError
        Naming the flag and the path.
    """
    for flag, (attr, folder) in _PATH_FLAGS.items():
        path = getattr(args, attr, None)
        if path is None:
            continue
        if not path.exists():
            raise UsageError(f"argument {flag}: {path} does not exist; check the path.")
        if folder and not path.is_dir():
            raise UsageError(f"argument {flag}: {path} is a file; give the folder.")
        if not folder and path.is_dir():
            raise UsageError(f"argument {flag}: {path} is a folder; give the file.")
    for flag, attr in (("--coco", "coco"), ("--label-folder", "label_folder")):
        if getattr(args, attr, None) is not None and args.images is None:
            raise UsageError(f"argument {flag}: needs --images DIR (the folder of the annotated images).")
    if args.real_nuclei and args.real_data is None:
        raise UsageError("argument --real-nuclei: needs --real-data DIR (the folder holding nuclei2d_dsb2018.tif).")
    if args.batch == 0 or args.batch < -1:
        raise UsageError(f"argument --batch: {args.batch}; give at least 1 (or -1: Ultralytics chooses).")


def cmd_train(args) -> int:
    check_train_args(args)
    from ..training import convert
    from ..training.train import synthetic_dataset, train

    work = args.workdir / args.name
    if args.resume:
        from ..training.train import resume

        best = resume(work)
        print(f"best checkpoint: {best}")
        return 0
    overrides = {} if args.workers is None else {"workers": args.workers}
    record = {}
    if args.data:
        data = args.data
    elif args.nuclei:
        from ..training.nuclei_data import NUCLEI_TRAIN_OVERRIDES, nuclei_dataset

        data = nuclei_dataset(work / "dataset", args.nuclei, args.real_nuclei, real_folder=args.real_data,
                              n_val=args.n_val, seed=args.seed, size=args.imgsz)
        overrides = {**NUCLEI_TRAIN_OVERRIDES, **overrides}
    elif args.trees:
        from ..training.trees_data import TREE_BANDS, TREES_TRAIN_OVERRIDES, trees_dataset, trees_scale

        data = trees_dataset(work / "dataset", args.trees)
        overrides = {**TREES_TRAIN_OVERRIDES, **overrides}
        record = {"bands": list(TREE_BANDS), "scale": trees_scale(args.trees, args.imgsz).as_record()}
    elif args.synthetic:
        data = synthetic_dataset(work / "dataset", args.synthetic, args.n_val, seed=args.seed, size=args.imgsz)
    else:
        data = convert.build_dataset(
            work / "dataset",
            coco=args.coco,
            sa1b=args.sa1b,
            label_folder=args.label_folder,
            bsds=args.bsds,
            images=args.images,
            val_fraction=args.val_fraction,
            seed=args.seed,
        )
    if args.lr0 is not None:
        overrides = {**overrides, "optimizer": "AdamW", "lr0": args.lr0}
    best = train(
        data, args.model, epochs=args.epochs, imgsz=args.imgsz, batch=args.batch, device=args.device,
        project=args.workdir, name=args.name, reg_max=args.reg_max, seed=args.seed, record=record, **overrides,
    )
    print(f"best checkpoint: {best}")
    return 0


def cmd_train_demo_clip(args) -> int:
    if args.out.is_dir():
        raise UsageError(f"argument --out: {args.out} is a folder; give the checkpoint file to write (.pt).")
    from ..training.clip_demo import train_demo_clip

    path = train_demo_clip(args.out, n_scenes=args.scenes, steps=args.steps, batch=args.batch, seed=args.seed)
    print(f"demo CLIP checkpoint: {path}")
    return 0
