"""Train or fine-tune a class-agnostic FastSAM-style (YOLOv8-seg) model."""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from pathlib import Path

import numpy as np
import yaml

from ..engine._ultralytics import ultralytics
from ..engine.device import torch_threads_kept
from ..errors import FastSAMError
from .synthetic import make_scene
from .yolo_dataset import Sample, write_data_yaml, write_split

# FastSAM-s is the YOLOv8-seg architecture at scale "s" with one class; FastSAM-x at scale "x".
RECORD_FILE = "napari_fastsam_record.yaml"  # a run's extra checkpoint record, kept for resume()
RUN_FILE = "napari_fastsam_run.yaml"  # the arguments of a run train() started; resume() continues only these
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
        from ..io.plain_yaml import load_plain_yaml  # safe loader that also refuses aliases (YAML bombs)

        cfg = load_plain_yaml(data)
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
    record_scale: bool = True,
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
        1-based bands the model was trained on); kept in ``args.yaml`` too, for :func:`resume`. Without
        a ``scale`` entry, the training set's (:func:`~fastsam_plugin.training.dataset_scale.dataset_scale`:
        tile side, median object diameter, pixel size) is recorded, unless ``record_scale`` is False.
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
    run_dir = Path(project).resolve() / name
    data = safe_data_yaml(data, run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if record_scale and not (record or {}).get("scale") and (scale := _scale_of(data, imgsz)) is not None:
        record = {**(record or {}), "scale": scale.as_record()}  # engine/scale.py brings later images to it
    if record:  # resume() reads it back after an interruption
        (run_dir / RECORD_FILE).write_text(yaml.safe_dump(dict(record)))
    settings = {"epochs": int(epochs), "imgsz": int(imgsz), "batch": int(batch), "seed": int(seed),
                "plots": bool(plots), "overrides": dict(overrides)}
    _write_run_file(run_dir, data, settings)
    with tempfile.TemporaryDirectory() as tmp:
        arch = resolve_architecture(model, reg_max, Path(tmp))
        if str(arch).endswith((".yaml", ".yml")):
            yolo = _yolo_from_config(ul, arch, model)
        else:  # a checkpoint to fine-tune: through the one loader, then handed to Ultralytics as a model
            yolo = _yolo_from_checkpoint(arch, trust)
        for event, fn in (callbacks or {}).items():
            yolo.add_callback(event, fn)
        with _all_cores(yolo):
            yolo.train(
                data=str(data),
                epochs=epochs,
                imgsz=imgsz,
                batch=batch,
                device=device,
                project=str(run_dir.parent),
                name=name,
                exist_ok=True,
                single_cls=True,
                seed=seed,
                deterministic=True,
                plots=plots,
                amp=device != "cpu",
                cache=False,  # image caches are files too: none are written or read
                **overrides,
            )
    return _finish(yolo, imgsz, record)


def _scale_of(data: Path, imgsz: int):
    """The training set's scale (:func:`~fastsam_plugin.training.dataset_scale.dataset_scale`), or None."""
    from .dataset_scale import dataset_scale

    try:
        return dataset_scale(data, imgsz)
    except (OSError, ValueError, TypeError, KeyError):  # an unusual set layout: the model records no scale
        return None


def _finish(yolo, imgsz: int, record: dict | None) -> Path:
    """Write the operating-point record into the best checkpoint of a finished run; return its path."""
    best = Path(yolo.trainer.best)
    best = best if best.exists() else Path(yolo.trainer.last)
    validator = getattr(yolo.trainer, "validator", None)
    record_operating_point(best, imgsz, recommended_conf(getattr(validator, "metrics", None)), **(record or {}))
    return best


class ResumeError(FastSAMError, ValueError):
    """A run folder that napari-fastsam cannot continue; the message says why and what to do."""


def _write_run_file(run_dir: Path, data: Path, settings: dict) -> None:
    """Record what :func:`train` was asked (data, schedule) so :func:`resume` never takes it from a checkpoint."""
    clean = {k: v for k, v in settings.items() if k != "overrides"}
    overrides = {k: v for k, v in settings.get("overrides", {}).items()
                 if isinstance(v, (int, float, str, bool)) or v is None}
    text = yaml.safe_dump({"written_by": "napari-fastsam", "data": str(Path(data).resolve()), **clean,
                           "overrides": overrides})
    (run_dir / RUN_FILE).write_text(text, encoding="utf-8")


def _read_run_file(run_dir: Path) -> dict:
    path = run_dir / RUN_FILE
    if not path.is_file():
        raise ResumeError(
            f"{run_dir} was not started by napari-fastsam's train (no {RUN_FILE}): only runs it started are "
            "continued, with their recorded data and settings. Start a new run instead."
        )
    text = path.read_text(encoding="utf-8")
    if len(text) > 1 << 16:
        raise ResumeError(f"{path} is too large to be a run record.")
    try:
        run = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ResumeError(f"{path} is not a readable run record ({type(exc).__name__}).") from None
    ok = (isinstance(run, dict) and run.get("written_by") == "napari-fastsam" and isinstance(run.get("data"), str)
          and all(isinstance(run.get(k), int) for k in ("epochs", "imgsz", "batch", "seed"))
          and isinstance(run.get("overrides", {}), dict))
    if not ok:
        raise ResumeError(f"{path} is not a run record napari-fastsam wrote; start a new run instead.")
    return run


def resume(run_dir: str | Path, trust: bool | None = None, data: str | Path | None = None,
           device: str = "cpu") -> Path:
    """Continue an interrupted :func:`train` run from ``<run_dir>/weights/last.pt``.

    Training long on a CPU can outlast a session: rerun the same command with
    ``--resume`` and it goes on from the last finished epoch, with the same
    data, settings and schedule. Only runs :func:`train` started are continued
    (their ``napari_fastsam_run.yaml``); ``last.pt`` is read by the one restricted
    loader, and the data and output folders come from that record, the user's
    ``data`` and ``run_dir``, never from the checkpoint's ``train_args``.

    Raises
    ------
    FileNotFoundError
        No ``last.pt`` in the run folder (nothing to resume; start the run without ``--resume``).
    ResumeError
        Not a run napari-fastsam started, or already finished.
    """
    from ..engine.loader import load_checkpoint, segmentation_model_from_checkpoint, yolo_from_model

    run_dir = Path(run_dir).resolve()
    last = run_dir / "weights" / "last.pt"
    if not last.is_file():
        raise FileNotFoundError(f"{last} not found: there is no interrupted run to resume in {run_dir}; "
                                "start it without --resume.")
    run = _read_run_file(run_dir)
    model, ckpt = segmentation_model_from_checkpoint(load_checkpoint(last, trust=trust))
    epoch = ckpt.get("epoch")
    if not isinstance(epoch, int) or not 0 <= epoch < run["epochs"] - 1 or not isinstance(ckpt.get("optimizer"),
                                                                                        dict):
        raise ResumeError(f"{last} is not an interrupted epoch of this {run['epochs']}-epoch run (epoch {epoch!r}): "
                          "nothing to resume. Start a new run instead.")
    data = safe_data_yaml(data if data is not None else run["data"], run_dir)
    saved = run_dir / RECORD_FILE
    record = yaml.safe_load(saved.read_text()) if saved.is_file() else None
    yolo = yolo_from_model(model, {**ckpt, "ema": model}, last)
    with _all_cores(yolo):
        yolo.train(
            trainer=_resuming_trainer({**ckpt, "ema": model}),
            data=str(data),
            epochs=run["epochs"],
            imgsz=run["imgsz"],
            batch=run["batch"],
            device=device,
            project=str(run_dir.parent),
            name=run_dir.name,
            exist_ok=True,
            single_cls=True,
            seed=run["seed"],
            deterministic=True,
            plots=bool(run.get("plots", True)),
            amp=device != "cpu",
            cache=False,
            **run.get("overrides", {}),
        )
    return _finish(yolo, run["imgsz"], record if isinstance(record, dict) else None)


def _resuming_trainer(checkpoint: dict):
    """Ultralytics' segmentation trainer continuing from an already loaded checkpoint.

    Ultralytics' own resume reads the checkpoint file again and replaces every argument (data, save
    folder) with the checkpoint's ``train_args``; this one keeps the arguments it is given and takes
    only the optimizer, EMA and epoch from ``checkpoint``.
    """
    ultralytics()
    from ultralytics.models.yolo.segment import SegmentationTrainer

    class ResumingTrainer(SegmentationTrainer):
        def check_resume(self, overrides):
            self.resume = True
            self.args.resume = True  # keeps results.csv; never read as a path

        def setup_model(self):
            super().setup_model()  # the model is already built from the loaded weights
            return checkpoint

    return ResumingTrainer


def _yolo_from_config(ul, arch: str, model: str):
    """An untrained Ultralytics model from a model YAML, its layers checked first."""
    from ..engine.loader import CheckpointLimitError, architecture_from_yaml, build_skeleton

    try:  # layer types, counts and parameters checked on the meta device before Ultralytics builds it
        build_skeleton(architecture_from_yaml(arch), model)
    except CheckpointLimitError as exc:
        if "blocked" in str(exc):  # Ultralytics' restricted mode refused code in the YAML
            raise ModelConfigError(
                f"refused the model configuration {model}: {exc} A model YAML may only name torch.nn layers "
                "with literal arguments (e.g. 'activation: nn.SiLU()'); napari-fastsam never evaluates code "
                "from it."
            ) from None
        raise ModelConfigError(f"refused the model configuration {model}: {exc}") from None
    try:
        return ul.YOLO(arch, task="segment")
    except TypeError as exc:  # Ultralytics' restricted mode refused code in a model YAML
        if "blocked" not in str(exc):
            raise
        raise ModelConfigError(
            f"refused the model configuration {model}: {exc} A model YAML may only name torch.nn layers "
            "with literal arguments (e.g. 'activation: nn.SiLU()'); napari-fastsam never evaluates code "
            "from it."
        ) from None


def _yolo_from_checkpoint(path: str, trust: bool | None):
    """A checkpoint (``.pt``) or converted weights (``.safetensors`` / ``.json``) to fine-tune, as a YOLO object."""
    from ..engine.loader import load_checkpoint, segmentation_model_from_checkpoint, yolo_from_model

    if Path(path).suffix.lower() in (".safetensors", ".json"):
        from ..engine.safetensors_weights import load_weights_file

        model, ckpt = load_weights_file(path)
        return yolo_from_model(model, ckpt, path)
    model, ckpt = segmentation_model_from_checkpoint(load_checkpoint(path, trust=trust))
    ckpt = {k: v for k, v in ckpt.items() if k not in ("optimizer", "epoch")}  # a new run: fine-tune, not resume
    return yolo_from_model(model, ckpt, path)


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
    from ..engine.loader import load_checkpoint

    ckpt = load_checkpoint(path, trust=False).checkpoint  # through the one loader, even for our own file
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
