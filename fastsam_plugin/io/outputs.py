"""Write results without losing the user's files: label TIFFs, JSON, overlay pictures; the manifest of whole outputs."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import numpy as np
import tifffile

from ..errors import FastSAMError

SOFTWARE_TAG = "napari-fastsam"  # written into every TIFF we make, so a folder scan can tell outputs from inputs
TEMP_PREFIX = ".napari-fastsam-"  # hidden temporary names, never taken for inputs
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]  # names this machine in temporary names


class OutputExistsError(FastSAMError, FileExistsError):
    """An output file exists and overwriting was not allowed."""


class OutputPathError(FastSAMError, OSError):
    """An output cannot be written there (a folder in the way, no permission); the message says which path."""


def check_free(path: Path, overwrite: bool) -> None:
    """Refuse to replace an existing file unless ``overwrite``; create the parent folder."""
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"cannot write {path}: a folder of that name is in the way; move it or choose --out.")
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass overwrite=True (CLI: --overwrite) to replace it.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputPathError(f"cannot create the folder {path.parent}: a file of that name is in the way.") from None


def temp_name(name: str) -> str:
    """A fresh hidden temporary name for ``name``: ``.napari-fastsam-<host>-<pid>-<random>-<name>``.

    The host and process id in the name let a later run tell the temporary file
    of a killed run (remove it) from one another run is still writing (leave it),
    see :func:`remove_stale_temps`.
    """
    return f"{TEMP_PREFIX}{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}-{name}"


@contextmanager
def atomic_path(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success rename it to ``path`` in one step.

    A crash or Ctrl-C while writing leaves either the old file or none, never a
    truncated one: the temporary file is removed and ``os.replace`` (atomic on
    one file system) only runs after the writer returned. Inside
    :func:`recording_outputs` the finished file is also entered in its folder's
    manifest (:func:`commit_output`), before the rename, under the manifest lock.
    """
    p = Path(path)
    check_free(p, overwrite)
    # a fresh hidden name (created by the writer, so the user's umask applies), same folder = same file system
    tmp_path = p.parent / temp_name(p.name)
    try:
        yield tmp_path
        if _RECORDING.get():
            commit_output(tmp_path, p, overwrite=overwrite)
        else:
            if not overwrite and p.exists():  # another process finished it meanwhile: keep theirs
                raise OutputExistsError(f"{p} appeared while writing; pass --overwrite to replace it.")
            os.replace(tmp_path, p)
    finally:
        if tmp_path.is_dir():
            shutil.rmtree(tmp_path, ignore_errors=True)
        else:
            tmp_path.unlink(missing_ok=True)


def write_tiff(
    path: str | Path, data: np.ndarray, *, overwrite: bool = False, compression: str | None = "zlib"
) -> Path:
    """Write an array as a TIFF atomically, tagged with :data:`SOFTWARE_TAG`."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tifffile.imwrite(tmp, data, compression=compression, software=SOFTWARE_TAG)
    return Path(path)


def write_labels(path: str | Path, labels: np.ndarray, *, overwrite: bool = False) -> Path:
    """Write a label image or volume as a compressed int32 TIFF, atomically."""
    return write_tiff(path, np.asarray(labels, np.int32), overwrite=overwrite)


def write_json(path: str | Path, data: dict, *, overwrite: bool = False) -> Path:
    """Write JSON atomically, refusing to replace an existing file unless asked."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(data))
    return Path(path)


def is_own_output(path: str | Path) -> bool:
    """Whether ``path`` is a TIFF this project wrote (its software tag), or one of our temporary files."""
    p = Path(path)
    if p.name.startswith(TEMP_PREFIX):
        return True
    if p.suffix.lower() not in (".tif", ".tiff"):
        return False
    try:
        with tifffile.TiffFile(p) as tif:
            return tif.pages[0].software == SOFTWARE_TAG
    except Exception:  # unreadable: not ours to judge; the reader reports it
        return False


# -- the manifest: which outputs are known to be whole ---------------------------------------------------------------
#
# Invariant 7: an output is kept only when it is known to be whole. A rename makes a file appear whole, but
# older versions, copies, other writers (GDAL) and killed processes can leave a file of the right name that is
# not. So the command line enters every output it writes in a manifest in the output's folder (size and sha256),
# *before* the output is renamed into place and under a lock shared by concurrent runs: whenever the final file
# exists with our content, its entry exists too.
#
# The manifest is a log of JSON lines, one per output written, appended with one write() under the lock (the
# last entry of a name counts). Appending keeps each commit O(1): rewriting a whole JSON file per output made a
# 3000-image batch spend minutes on its manifest. A line cut by a kill is ignored (its output has no entry and is
# written again); the log is compacted (rewritten atomically) when mostly superseded lines.

MANIFEST_NAME = f"{TEMP_PREFIX}manifest.jsonl"
_LOCK_NAME = f"{TEMP_PREFIX}manifest.lock"
_RECORDING: ContextVar[bool] = ContextVar("napari_fastsam_recording_outputs", default=False)
#: a temporary file (:func:`temp_name`): host, process id, random part; older versions used 12 random hex digits
_TEMP_RE = re.compile(
    rf"^{re.escape(TEMP_PREFIX)}(?:(?P<host>[0-9a-f]{{8}})-(?P<pid>\d+)-[0-9a-f]{{8}}|[0-9a-f]{{12}})-")
#: a temporary file of another machine (shared file system) is stale only when untouched this long
FOREIGN_TEMP_AGE_S = 3600.0


@contextmanager
def recording_outputs() -> Iterator[None]:
    """Within this block, every file written through :func:`atomic_path` is entered in its folder's manifest.

    Used by the command line (and its Dask workers) around each input's writers, so
    the napari writer and library callers leave no manifest behind.
    """
    token = _RECORDING.set(True)
    try:
        yield
    finally:
        _RECORDING.reset(token)


def fingerprint(path: str | Path) -> dict[str, int | str]:
    """Size in bytes and sha256 of a file, or of a folder (e.g. Zarr) as its sorted relative names and contents."""
    p = Path(path)
    digest = hashlib.sha256()
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file())
        size = 0
        for f in files:
            digest.update(f.relative_to(p).as_posix().encode() + b"\0")
            size += _hash_into(digest, f)
        return {"size": size, "sha256": digest.hexdigest()}
    return {"size": _hash_into(digest, p), "sha256": digest.hexdigest()}


def _hash_into(digest, path: Path) -> int:
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size


@contextmanager
def _manifest_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder``'s manifest, shared by every process writing there (POSIX ``flock``)."""
    try:
        import fcntl
    except ImportError:  # Windows: no cross-process lock; each update still replaces the manifest in one step
        yield
        return
    with open(folder / _LOCK_NAME, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class _Log:
    """What this process has parsed of one folder's manifest: entries, lines read, and where it stopped."""

    def __init__(self, inode: int) -> None:
        self.inode, self.offset, self.lines = inode, 0, 0
        self.entries: dict[str, dict] = {}


_LOGS: dict[Path, _Log] = {}
_LOGS_LOCK = threading.Lock()


def _parse_new_lines(folder: Path) -> _Log | None:
    """Read the lines appended to ``folder``'s manifest since the last call (all of it when it was replaced)."""
    path = folder / MANIFEST_NAME
    try:
        with open(path, "rb") as fh:
            inode = os.fstat(fh.fileno()).st_ino
            key = folder.resolve()
            log = _LOGS.get(key)
            if log is None or log.inode != inode or os.fstat(fh.fileno()).st_size < log.offset:
                log = _LOGS[key] = _Log(inode)
            fh.seek(log.offset)
            data = fh.read()
    except OSError:  # no manifest (yet), or unreadable: nothing is known whole through it
        return None
    end = data.rfind(b"\n") + 1  # only whole lines; a line being appended is read next time
    for line in data[:end].splitlines():
        log.lines += 1
        try:
            entry = json.loads(line)
            name, size, digest = entry["name"], int(entry["size"]), str(entry["sha256"])
        except (ValueError, KeyError, TypeError):  # a line cut by a kill, or edited by hand: no entry
            continue
        log.entries[name] = {"size": size, "sha256": digest}
    log.offset += end
    return log


def read_manifest(folder: str | Path) -> dict[str, dict]:
    """``{file name: {"size", "sha256"}}`` of the outputs recorded in ``folder`` (empty when none or unreadable)."""
    with _LOGS_LOCK:
        log = _parse_new_lines(Path(folder))
        return dict(log.entries) if log is not None else {}


def _append_entry(folder: Path, name: str, print_: dict) -> None:
    """Append ``name``'s entry to the manifest (caller holds the manifest lock); compact a mostly stale log."""
    line = json.dumps({"name": name, **print_}, sort_keys=True).encode() + b"\n"
    path = folder / MANIFEST_NAME
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line  # end the line a killed writer cut, so this entry stays readable
        os.write(fd, line)
    finally:
        os.close(fd)
    with _LOGS_LOCK:
        log = _parse_new_lines(folder)
        if log is not None and log.lines > 2 * len(log.entries) + 256:
            tmp = folder / temp_name(MANIFEST_NAME)
            try:
                tmp.write_bytes(b"".join(json.dumps({"name": n, **e}, sort_keys=True).encode() + b"\n"
                                         for n, e in log.entries.items()))
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)


def commit_output(tmp: Path, final: Path, *, overwrite: bool = False) -> None:
    """Enter the finished ``tmp`` in the manifest under ``final``'s name, then rename it to ``final``.

    Both steps run under the folder's manifest lock, so two runs writing the same
    output never leave an entry that describes the other's file.

    Raises
    ------
    OutputExistsError
        ``final`` appeared meanwhile (another run wrote it) and ``overwrite`` is False;
        the caller can ask :func:`output_complete` whether that file is whole.
    """
    print_ = fingerprint(tmp)
    with _manifest_lock(final.parent):
        if not overwrite and final.exists():
            raise OutputExistsError(f"{final} appeared while writing; pass --overwrite to replace it.")
        _append_entry(final.parent, final.name, print_)
        os.replace(tmp, final)


def record_output(path: str | Path) -> None:
    """Enter an output that its writer put in place itself (GeoTIFF, GeoPackage, Zarr) in its folder's manifest."""
    p = Path(path)
    print_ = fingerprint(p)
    with _manifest_lock(p.parent):
        _append_entry(p.parent, p.name, print_)


def mark_pending(path: str | Path) -> None:
    """Enter ``path`` as being written in place (by GDAL): until :func:`record_output`, it is not whole.

    Without this, a GeoTIFF cut by a kill would have no entry and could pass the TIFF
    end check (GDAL leaves unwritten tiles empty, which read as zeros).
    """
    p = Path(path)
    with _manifest_lock(p.parent):
        _append_entry(p.parent, p.name, {"size": -1, "sha256": ""})


def output_complete(path: str | Path) -> bool:
    """Whether an existing output is known to be whole.

    * Entered in its folder's manifest: whole when its size and sha256 still match
      the entry (one rule for every format: TIFF, PNG, JSON, CSV, GeoPackage, Zarr).
    * Not entered (written by an older version, or by hand): only formats that carry
      their own end check count: a TIFF with at least one page whose every strip or
      tile lies inside the file and decodes, or JSON that parses. Anything else (a
      CSV cut mid-row or holding only its header, a GeoPackage, a Zarr folder) is
      not known to be whole and is written again.
    """
    p = Path(path)
    if not p.exists():
        return False
    entry = read_manifest(p.parent).get(p.name)
    if entry is not None:
        try:
            return fingerprint(p) == {"size": entry.get("size"), "sha256": entry.get("sha256")}
        except OSError:
            return False
    if not p.is_file() or p.stat().st_size == 0:
        return False
    suffix = p.suffix.lower()
    if suffix in (".tif", ".tiff"):
        return _tiff_whole(p)
    if suffix == ".json":
        try:
            json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return False
        return True
    return False


def _tiff_whole(path: Path) -> bool:
    """A TIFF with >= 1 page, every strip/tile inside the file, every page decodable."""
    size = path.stat().st_size
    try:
        with tifffile.TiffFile(path) as tif:
            if len(tif.pages) == 0:
                return False
            for page in tif.pages:
                ends = [o + n for o, n in zip(page.dataoffsets, page.databytecounts)]
                if not ends or max(ends) > size:
                    return False
                page.asarray()  # the end check of the codec: a cut or damaged strip fails to decode
    except Exception:  # noqa: BLE001 - any parse or decode error means "not a whole TIFF"
        return False
    return True


def remove_stale_temps(folder: str | Path, started: float) -> list[Path]:
    """Remove the temporary files (and folders) that killed runs left in ``folder``; return what was removed.

    Only names this project makes (:func:`temp_name`, ``.napari-fastsam-<host>-<pid>-<random>-...``),
    last changed before ``started`` (this run's start, ``time.time()``), and whose writer is gone: on
    this machine its process no longer exists; from another machine (a shared file system) it has been
    untouched for :data:`FOREIGN_TEMP_AGE_S`. The manifest, its lock and the user's files are never touched.
    """
    removed = []
    try:
        candidates = list(Path(folder).iterdir())
    except OSError:
        return removed
    for p in candidates:
        match = _TEMP_RE.match(p.name)
        if match is None:
            continue
        try:
            mtime = p.lstat().st_mtime
        except OSError:
            continue
        if mtime >= started or not _writer_gone(match, mtime):
            continue
        try:
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        except OSError:  # e.g. removed by another run at the same moment
            continue
        removed.append(p)
    return removed


def _writer_gone(match: re.Match, mtime: float) -> bool:
    if match.group("host") is None:  # an older version's name: no writer recorded; older than this run
        return True
    if match.group("host") != _HOST:
        return time.time() - mtime > FOREIGN_TEMP_AGE_S
    pid = int(match.group("pid"))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def label_colours(n: int, seed: int = 0) -> np.ndarray:
    """``(n + 1, 3)`` uint8 palette: black for the background, then vivid, well-separated hues.

    Hues step by the golden ratio, so consecutive ids (often neighbours) never look alike.
    """
    from skimage.color import hsv2rgb

    k = np.arange(1, n + 1)
    hue = (seed * 0.137 + k * 0.6180339887) % 1.0
    sat = np.where(k % 2, 0.95, 0.75)
    val = np.where(k % 3 == 0, 0.85, 1.0)
    rgb = hsv2rgb(np.stack([hue, sat, val], axis=-1)[None])[0]
    return np.vstack([[0, 0, 0], np.round(rgb * 255)]).astype(np.uint8)


def overlay(
    image: np.ndarray, labels: np.ndarray, alpha: float = 0.5, seed: int = 0, outline: int = 1
) -> np.ndarray:
    """Paint a label image over a picture: each object filled in its own colour at ``alpha``, outlined in a dark shade.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) uint8
    labels : (H, W) int
        0 = background.
    alpha : float
        Opacity of the fill (0.5: the image stays visible through the objects).
    outline : int
        Outline width in pixels, drawn inside each object (0: none).

    Returns
    -------
    (H, W, 3) uint8
    """
    from skimage.morphology import dilation, disk, erosion

    lab = np.asarray(labels)
    img = np.asarray(image)
    img = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3]
    palette = label_colours(int(lab.max()) if lab.size else 0, seed).astype(np.float64)
    colour = palette[lab]
    out = img.astype(np.float64)
    on = lab > 0
    out[on] = (1 - alpha) * out[on] + alpha * colour[on]
    if outline > 0:
        # pixels of an object within ``outline`` of another id or the background: one contour per object
        fp = disk(outline)
        edge = on & ((erosion(lab, fp) != lab) | (dilation(lab, fp) != lab))
        out[edge] = 0.45 * colour[edge]  # a dark shade of the object's colour: visible on light and vivid fills
    return np.clip(out, 0, 255).astype(np.uint8)
