"""Train or fine-tune a class-agnostic FastSAM-style (YOLOv8-seg) model."""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from pathlib import Path

import numpy as np
import yaml

from ..engine._ultralytics import trusted_loading, ultralytics
from ..engine.checkpoints import trust_from_env
from ..engine.device import torch_threads_kept
from ..engine.weights import verify_weights
from ..errors import FastSAMError
from .synthetic import make_scene
from .yolo_dataset import Sample, write_data_yaml, write_split

# FastSAM-s is the YOLOv8-seg architecture at scale "s" with one class; FastSAM-x at scale "x".
RECORD_FILE = "napari_fastsam_record.yaml"  # a run's extra checkpoint record, kept for resume()
ARCHITECTURES = {"FastSAM-s": "yolov8s-seg.yaml", "FastSAM-x": "yolov8x-seg.yaml", "demo": "yolov8n-seg.yaml"}


@contextlib.contextmanager
def _all_cores(yolo):
    """Keep this process's torch thread count through training and after it.

    Ultralytics' ``select_device`` caps CPU training at ``cpu_count - 1`` threads (one thread on a 2-core
    machine, 1.7x slower there); a training run is the machine's main job, so it gets every core. The count
    is restored after the trainer picks its device, at each epoch, and when training ends (its final
    validation calls ``select_device`` again, which would leave a napari session on one thread).
    """
    with torch_threads_kept() as threads:

        def restore(trainer) -> None:
            if getattr(trainer.device, "type", "cpu") == "cpu":
                import torch

                torch.set_num_threads(threads)

        for event in ("on_pretrain_routine_start", "on_train_epoch_start"):
            yolo.add_callback(event, restore)
        yield


def synthetic_dataset(out_dir: str | Path, n_train: int, n_val: int, seed: int = 0, size: int = 320) -> Path:
    """Generate a synthetic shapes dataset in Ultralytics layout; return ``data.yaml``.

    Train scenes use seeds ``seed .. seed + n_train - 1``; validation scenes
    start at ``seed + 1_000_000`` so the splits never share a scene.
    """

    def samples(first: int, n: int, prefix: str):
        for k in range(first, first + n):
            scene = make_scene(k, (size, size))
            yield Sample(f"{prefix}{k:07d}", scene.image, scene.masks)

    write_split(samples(seed, n_train, "syn"), out_dir, "train")
    write_split(samples(seed + 1_000_000, n_val, "syn"), out_dir, "val")
    return write_data_yaml(out_dir)


class DatasetYAMLError(FastSAMError, ValueError):
    """A dataset YAML that cannot be used as it is; the message says what to change."""


class ModelConfigError(FastSAMError, ValueError):
    """A model YAML asks for code to be evaluated (refused)."""


class DownloadEntryDroppedWarning(UserWarning):
    """A dataset YAML's ``download:`` entry was removed before training."""


def safe_data_yaml(data: str | Path, work_dir: str | Path) -> Path:
    """Return a dataset YAML that Ultralytics can read without running anything from it.

    Ultralytics executes a dataset YAML's ``download:`` entry (Python code, a
    shell command, or an archive URL it unpacks) when the data is missing.
    napari-fastsam never does: a YAML with such an entry is copied to
    ``work_dir`` without it (``path:`` pinned to the original folder so
    relative entries still resolve), and refused when its data is not on disk.

    Parameters
    ----------
    data : path
        The user's ``data.yaml``.
    work_dir : path
        Folder for the rewritten copy.

    Raises
    ------
    DatasetYAMLError
        Not a YAML mapping, not plain YAML, or data missing with a ``download:`` entry.
    """
    data = Path(data)
    if data.suffix.lower() not in (".yaml", ".yml") or not data.is_file():
        raise DatasetYAMLError(f"--data must be an existing dataset YAML file (data.yaml); got {data}.")
    try:
        cfg = yaml.safe_load(data.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:  # python/object tags and the like are refused here
        raise DatasetYAMLError(f"{data} is not plain YAML ({type(exc).__name__}: {exc}).") from None
    if not isinstance(cfg, dict):
        raise DatasetYAMLError(f"{data} does not hold a mapping of dataset settings (path, train, val, names).")
    if "download" not in cfg:
        return data
    cfg.pop("download")
    cfg.setdefault("path", str(data.resolve().parent))  # Ultralytics' default: the YAML's own folder
    missing = _missing_splits(cfg)
    if missing:
        raise DatasetYAMLError(
            f"the dataset of {data} is not on disk (missing: {', '.join(missing)}), and napari-fastsam does not "
            "run its `download:` entry: a dataset YAML's download code or archive could run anything on this "
            "machine. Download and unpack the data yourself from a source you trust, then point `path:` "
            "(and train/val) in the YAML at it."
        )
    out = Path(work_dir) / f"{data.stem}.no-download.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    warnings.warn(
        f"ignored the `download:` entry of {data} (napari-fastsam never runs dataset download code); "
        f"training reads {out} instead.",
        DownloadEntryDroppedWarning,
        stacklevel=2,
    )
    return out


def _missing_splits(cfg: dict) -> list[str]:
    """The train/val entries of a dataset config that do not exist, resolved as Ultralytics does."""
    ultralytics()
    from ultralytics.utils import DATASETS_DIR

    root = Path(str(cfg["path"]))
    if not root.exists() and not root.is_absolute():
        root = (DATASETS_DIR / root).resolve()
    missing = []
    for key in ("train", "val"):
        entries = cfg.get(key)
        for entry in entries if isinstance(entries, list) else [entries]:
            if entry is None:
                missing.append(f"{key} (not set)")
            elif not (root / str(entry)).exists():
                missing.append(f"{key}: {root / str(entry)}")
    return missing


def resolve_architecture(model: str, reg_max: int | None, work_dir: Path) -> str:
    """Map a FastSAM name to its YOLOv8-seg config; write a copy with ``nc: 1`` and ``reg_max``."""
    cfg = ARCHITECTURES.get(model, model)
    if not str(cfg).endswith((".yaml", ".yml")):
        return cfg  # a checkpoint path: fine-tune it as is
    ultralytics()
    from ultralytics.nn.tasks import yaml_model_load

    d = dict(yaml_model_load(cfg))
    d["nc"] = 1
    if reg_max is not None:
        d["reg_max"] = int(reg_max)
    # keep the scale letter in the file name so Ultralytics picks the right width/depth
    out = work_dir / Path(str(cfg)).name
    out.write_text(yaml.safe_dump({k: v for k, v in d.items() if k != "yaml_file"}))
    return str(out)


def train(
    data: str | Path,
    model: str = "demo",
    *,
    epochs: int = 30,
    imgsz: int = 320,
    batch: int = 16,
    device: str = "cpu",
    project: str | Path = "runs/fastsam",
    name: str = "train",
    reg_max: int | None = None,
    seed: int = 0,
    plots: bool = True,
    trust: bool | None = None,
    callbacks: dict | None = None,
    record: dict | None = None,
    **overrides,
) -> Path:
    """Train a single-class segmentation model with Ultralytics.

    Parameters
    ----------
    data : path
        An Ultralytics ``data.yaml`` (see :mod:`fastsam_plugin.training.convert`
        for COCO, SA-1B, label-image folders and BSDS500).
    model : str
        ``"demo"`` (YOLOv8n-seg), ``"FastSAM-s"``, ``"FastSAM-x"``, a model YAML,
        or a checkpoint path to fine-tune.
    reg_max : int, optional
        DFL bins of the box head (FastSAM keeps Ultralytics' 16); only for
        architectures built from a config.
    trust : bool, optional
        Fine-tune a checkpoint the safety scan refuses (only for a file you
        trust); ``None`` reads ``$NAPARI_FASTSAM_TRUST_CHECKPOINTS``.
    callbacks : dict, optional
        ``{event: fn}`` Ultralytics callbacks (e.g. ``on_fit_epoch_end`` for progress and cancel).
    record : dict, optional
        More entries for the checkpoint's operating-point record (e.g. ``{"bands": [4, 1, 2]}``, the
        1-based bands the model was trained on); kept in ``args.yaml`` too, for :func:`resume`.
    overrides
        Any other Ultralytics train argument (``lr0``, ``mosaic``, ...).

    Returns
    -------
    Path
        The best checkpoint, ``<project>/<name>/weights/best.pt``.

    Raises
    ------
    UnsafeCheckpointError
        ``model`` is a checkpoint naming code outside the allow-list (nothing from it ran).
    DatasetYAMLError
        See :func:`safe_data_yaml`.
    """
    ul = ultralytics()
    trust = trust_from_env() if trust is None else trust
    data = safe_data_yaml(data, Path(project).resolve() / name)
    if record:  # resume() reads it back after an interruption
        run_dir = Path(project).resolve() / name
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / RECORD_FILE).write_text(yaml.safe_dump(dict(record)))
    with tempfile.TemporaryDirectory() as tmp:
        arch = resolve_architecture(model, reg_max, Path(tmp))
        if not str(arch).endswith((".yaml", ".yml")):  # a checkpoint to fine-tune: check it before Ultralytics
            verify_weights(arch, trust=trust)
        with trusted_loading(trust):
            try:
                yolo = ul.YOLO(arch, task="segment")
            except TypeError as exc:  # Ultralytics' restricted mode refused code in a model YAML
                if "blocked" not in str(exc):
                    raise
                raise ModelConfigError(
                    f"refused the model configuration {model}: {exc} A model YAML may only name torch.nn layers "
                    "with literal arguments (e.g. 'activation: nn.SiLU()'); napari-fastsam never evaluates code "
                    "from it."
                ) from None
            for event, fn in (callbacks or {}).items():
                yolo.add_callback(event, fn)
            with _all_cores(yolo):
                yolo.train(
                    data=str(data),
                    epochs=epochs,
                    imgsz=imgsz,
                    batch=batch,
                    device=device,
                    project=str(Path(project).resolve()),
                    name=name,
                    exist_ok=True,
                    single_cls=True,
                    seed=seed,
                    deterministic=True,
                    plots=plots,
                    amp=device != "cpu",
                    **overrides,
                )
    return _finish(yolo, imgsz, record)


def _finish(yolo, imgsz: int, record: dict | None) -> Path:
    """Write the operating-point record into the best checkpoint of a finished run; return its path."""
    best = Path(yolo.trainer.best)
    best = best if best.exists() else Path(yolo.trainer.last)
    validator = getattr(yolo.trainer, "validator", None)
    record_operating_point(best, imgsz, recommended_conf(getattr(validator, "metrics", None)), **(record or {}))
    return best


def resume(run_dir: str | Path, trust: bool | None = None) -> Path:
    """Continue an interrupted :func:`train` run from ``<run_dir>/weights/last.pt`` (Ultralytics' ``resume``).

    Training long on a CPU can outlast a session: rerun the same command with
    ``--resume`` and it goes on from the last finished epoch, with the same
    data, settings and schedule.

    Raises
    ------
    FileNotFoundError
        No ``last.pt`` in the run folder (nothing to resume; start the run without ``--resume``).
    """
    run_dir = Path(run_dir)
    last = run_dir / "weights" / "last.pt"
    if not last.is_file():
        raise FileNotFoundError(f"{last} not found: there is no interrupted run to resume in {run_dir}; "
                                "start it without --resume.")
    ul = ultralytics()
    trust = trust_from_env() if trust is None else trust
    verify_weights(last, trust=trust)
    args = yaml.safe_load((run_dir / "args.yaml").read_text()) if (run_dir / "args.yaml").is_file() else {}
    saved = run_dir / RECORD_FILE
    record = yaml.safe_load(saved.read_text()) if saved.is_file() else None
    with trusted_loading(trust):
        yolo = ul.YOLO(str(last), task="segment")
        with _all_cores(yolo):
            yolo.train(resume=True)
    return _finish(yolo, int(args.get("imgsz", 640)), record)


def recommended_conf(metrics) -> float | None:
    """The confidence with the best mean mask F1 on the validation set, or None without a usable curve.

    Parameters
    ----------
    metrics
        Ultralytics ``SegmentMetrics`` of the final validation (``.seg.f1_curve`` (nc, 1000) over ``.seg.px``).
    """
    seg = getattr(metrics, "seg", None)
    curve, px = getattr(seg, "f1_curve", None), getattr(seg, "px", None)
    if curve is None or px is None or np.size(curve) == 0:
        return None
    mean_f1 = np.asarray(curve, np.float64).reshape(-1, len(px)).mean(axis=0)
    if not mean_f1.max() > 0:  # nothing found at any confidence: no advice
        return None
    return round(float(np.clip(px[int(mean_f1.argmax())], 0.01, 0.95)), 3)


def record_operating_point(checkpoint: str | Path, imgsz: int, conf: float | None, **extra) -> None:
    """Store the training ``imgsz`` (and a recommended ``conf``) in the checkpoint for the engine to use.

    ``extra`` entries (``bands``) join the record. See :mod:`fastsam_plugin.engine.operating_point`;
    the file is replaced atomically.
    """
    import torch

    from ..engine.operating_point import CHECKPOINT_KEY

    path = Path(checkpoint)
    ckpt = torch.load(path, map_location="cpu", weights_only=False)  # our own fresh checkpoint
    ckpt[CHECKPOINT_KEY] = {"imgsz": int(imgsz), **({"conf": float(conf)} if conf is not None else {}), **extra}
    tmp = path.with_suffix(".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(path)


def save_architecture_checkpoint(model: str, path: str | Path, seed: int = 0) -> Path:
    """Build an untrained single-class model from its config and save it in Ultralytics' checkpoint layout.

    Useful as a starting point for training from scratch, and to test the
    production loading path without pretrained weights.

    Parameters
    ----------
    model : str
        ``"FastSAM-s"``, ``"FastSAM-x"``, ``"demo"`` or a model YAML.
    path : path
        Where to write the ``.pt`` file.
    """
    import torch

    ul = ultralytics()
    torch.manual_seed(seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        arch = resolve_architecture(model, None, Path(tmp))
        if not str(arch).endswith((".yaml", ".yml")):  # never load a checkpoint here (it is not scanned)
            raise ModelConfigError(f"{model!r} is not an architecture: give 'FastSAM-s', 'FastSAM-x', 'demo' or a "
                                   "model YAML.")
        yolo = ul.YOLO(arch, task="segment")
    yolo.save(str(path))
    return path
