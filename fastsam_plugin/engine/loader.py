"""The one door every checkpoint comes through: bytes read once, checked, restricted unpickling.

Every route that reads a ``.pt`` file (the CLI, the Python API, ``$NAPARI_FASTSAM_WEIGHTS``,
the weights cache, the napari widget, operating-point and lineage reads, ``train --model``,
``train --resume``) calls :func:`load_checkpoint`. It

1. reads the file's bytes **once**, capped at :data:`MAX_FILE_BYTES` (a regular file only);
   every later step works on those bytes, so nothing can swap the file in between;
2. checks the sha256 pins of bundled files and the records of downloaded ones
   (:func:`fastsam_plugin.engine.weights.check_digest`) on the same bytes;
3. refuses anything that is not one well-formed ``torch.save`` zip archive
   (:func:`check_archive`): a legacy pickle stream, data before or after the archive,
   duplicate or case-variant member names, more than one central directory or end record,
   members outside torch's own layout, encrypted or unusual compression; and it caps the
   unpacked sizes **before** anything is inflated (sum of sizes, compression ratio);
4. walks the pickle's opcodes without running them (:func:`.checkpoints.scan_pickle`: a second
   gate that names the offending globals in the error message);
5. unpickles **from those bytes** with PyTorch's restricted unpickler
   (``torch.load(weights_only=True)``) given only the project's allow-list as safe globals;
   ``getattr`` is replaced by a function that fetches nothing but a layer class's
   ``forward``/``forward_fuse``.

``trust=True`` (for one call, one named file) replaces steps 4-5 with a full unpickle of those
bytes; nothing process-wide changes. The model is then rebuilt from its architecture by
:func:`segmentation_model_from_checkpoint` (limits checked before any allocation) and handed to
Ultralytics with :func:`yolo_from_model`, which never reads a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import stat
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import FastSAMError
from .checkpoints import (
    CheckpointFormatError,
    UnsafeCheckpointError,
    is_allowed_global,
    scan_pickle,
    trust_from_env,
)

#: Largest checkpoint file read (FastSAM-x is 145 MB; a fine-tuned FastSAM-x with optimizer state ~ 3x that).
MAX_FILE_BYTES = 1 << 30
#: Largest sum of the members' unpacked sizes.
MAX_UNPACKED_BYTES = 2 << 30
#: Largest unpacked size of the pickle itself (FastSAM-x's is ~ 0.3 MB).
MAX_PICKLE_BYTES = 64 << 20
#: Largest unpacked / packed ratio of a compressed member (torch stores members uncompressed).
MAX_COMPRESSION_RATIO = 20
#: Most parameters and buffer elements of a model (FastSAM-x: 72 M).
MAX_PARAMETERS = 150_000_000
#: Most modules in a model (FastSAM-x: 401) and most layers in its architecture (FastSAM-x: 23).
MAX_MODULES = 2_000
MAX_LAYERS = 64

# torch.save's own members, below one top-level folder (its name is the file's stem in old releases)
_MEMBER = re.compile(
    r"(data\.pkl|byteorder|version|\.format_version|\.storage_alignment|\.data/version|\.data/serialization_id"
    r"|data/\d{1,9})"
)
_LOCAL, _CENTRAL, _END, _END64, _LOCATOR64, _DESCRIPTOR = (
    b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07", b"PK\x07\x08"
)


class CheckpointLimitError(FastSAMError, ValueError):
    """A checkpoint asks for more memory or layers than any FastSAM model needs; nothing was built."""


# --- reading ---------------------------------------------------------------------------------------------------

def read_checkpoint_bytes(path: str | os.PathLike, max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file, read once and never more than ``max_bytes`` (:data:`MAX_FILE_BYTES`).

    Raises
    ------
    CheckpointFormatError
        Not a regular file (a device, FIFO or directory), or empty.
    CheckpointLimitError
        Larger than ``max_bytes``.
    """
    path = Path(path)
    max_bytes = MAX_FILE_BYTES if max_bytes is None else int(max_bytes)
    try:
        # O_NONBLOCK: opening a FIFO or device must not wait for a writer before it can be refused
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (FileNotFoundError, NotADirectoryError):
        from .weights import WeightsNotFoundError

        raise WeightsNotFoundError(f"weights {path} not found: give an existing checkpoint file.") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())  # of the file opened, not of whatever the name points to later
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointFormatError(f"could not load {path}: it is not a regular file. Pick a .pt file.")
        if info.st_size > max_bytes:
            raise CheckpointLimitError(_too_big(path, f"the file has {info.st_size:,} bytes", max_bytes))
        chunks, total = [], 0
        # in chunks: pseudo-files report size 0, and a buffer of max_bytes would be allocated up front
        want = info.st_size + 1  # the whole file at once; then small reads for what a pseudo-file adds
        while block := f.read(min(want, max_bytes + 1 - total)):
            want = 1 << 20
            chunks.append(block)
            total += len(block)
            if total > max_bytes:
                raise CheckpointLimitError(_too_big(path, "the file grew beyond the limit while being read",
                                                    max_bytes))
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if not data:
        raise CheckpointFormatError(f"could not load {path}: the file is empty. Download it again.")
    return data


def _too_big(path, what: str, limit: int) -> str:
    return (f"refused to load {path}: {what}, more than napari-fastsam's limit of {limit:,} (FastSAM-x needs far "
            "less). Nothing was unpacked. If this really is a model you trust, convert it on a machine with the "
            "memory for it (`napari-fastsam weights convert`).")


# --- the archive -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Member:
    """One member of a checked archive: its name and where its packed bytes lie."""

    name: str
    method: int
    start: int
    packed: int
    size: int


@dataclass(frozen=True)
class Archive:
    """A checked ``torch.save`` archive: its top folder and members in file order."""

    prefix: str
    members: tuple[Member, ...]

    def member(self, name: str) -> Member:
        """The member ``<prefix>/<name>``."""
        full = f"{self.prefix}/{name}"
        return next(m for m in self.members if m.name == full)


def _refuse(path, problem: str) -> UnsafeCheckpointError:
    return UnsafeCheckpointError(path, (), (problem,))


def _unreadable(path, why: str) -> CheckpointFormatError:
    return CheckpointFormatError(
        f"could not load {path}: {why}. The file may be truncated or not a model: download it again, or pick "
        "another file."
    )


def _end_record(data: bytes, path) -> tuple[int, int, int, int]:
    """(first central entry offset, central size, entry count, where the central directory must end)."""
    n = len(data)
    end = n - 22
    if end < 0 or data[end : end + 4] != _END:
        if data.rfind(_END, max(0, n - 65557)) >= 0:
            raise _refuse(path, "its archive is followed by other data (or an archive comment), which readers "
                                "can interpret differently")
        raise _unreadable(path, "it is not a zip archive (truncated, or not a torch.save file)")
    disk, cd_disk, on_disk, total, cd_size, cd_offset, comment = struct.unpack_from("<HHHHIIH", data, end + 4)
    if disk or cd_disk or on_disk != total or comment:
        raise _refuse(path, "its archive's end record describes a split archive or a comment")
    cd_end = end
    if total == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF or data[end - 20 : end - 16] == _LOCATOR64:
        loc = end - 20
        if loc < 0 or data[loc : loc + 4] != _LOCATOR64:
            raise _unreadable(path, "its zip64 locator is missing")
        _, rec, disks = struct.unpack_from("<IQI", data, loc + 4)
        if disks != 1 or rec + 56 != loc or data[rec : rec + 4] != _END64:
            raise _refuse(path, "its zip64 end record is not where the locator says, or there are several")
        size, _, _, d1, d2, n1, n2, cd_size, cd_offset = struct.unpack_from("<QHHIIQQQQ", data, rec + 4)
        if size != 44 or d1 or d2 or n1 != n2:
            raise _refuse(path, "its zip64 end record is malformed")
        total, cd_end = n2, rec
    return cd_offset, cd_size, total, cd_end


def _zip64_sizes(extra: bytes, packed: int, size: int, offset: int) -> tuple[int, int, int]:
    """Apply a zip64 extra field (id 1) to sizes and offset stored as 0xFFFFFFFF."""
    i = 0
    while i + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4 : i + 4 + length]
        if tag == 1:
            values = list(struct.unpack_from(f"<{len(body) // 8}Q", body))
            if size == 0xFFFFFFFF and values:
                size = values.pop(0)
            if packed == 0xFFFFFFFF and values:
                packed = values.pop(0)
            if offset == 0xFFFFFFFF and values:
                offset = values.pop(0)
        i += 4 + length
    return packed, size, offset


def check_archive(data: bytes, path: str | os.PathLike = "<bytes>") -> Archive:
    """Check that ``data`` is exactly one well-formed ``torch.save`` zip archive; return its layout.

    The members must tile the bytes from offset 0 to the central directory with nothing in between,
    the central directory must be followed only by the end record(s) that end the file, member names
    must be torch's own (one ``data.pkl``), unique also ignoring case, and the unpacked sizes must stay
    within :data:`MAX_UNPACKED_BYTES` / :data:`MAX_COMPRESSION_RATIO` / :data:`MAX_PICKLE_BYTES`.
    Nothing is inflated here.

    Parameters
    ----------
    data : bytes
        The whole file.
    path : path
        Named in errors.

    Raises
    ------
    CheckpointFormatError
        Not a zip archive at all, truncated, or a TorchScript archive.
    UnsafeCheckpointError
        A legacy stream, data around the archive, ambiguous or unexpected members.
    CheckpointLimitError
        Unpacked sizes beyond the caps.
    """
    if not data.startswith(_LOCAL):
        if data[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"):
            raise _refuse(path, "it is a legacy (pre-1.6) pickle stream, not a torch.save zip archive; such a file "
                                "is unpickled before anything can check it")
        if data.find(_LOCAL) > 0:
            raise _refuse(path, "other data precedes its zip archive, which readers can interpret differently")
        raise _unreadable(path, "it is not a torch.save zip archive (an empty, truncated or foreign file)")
    try:
        cd_offset, cd_size, total, cd_end = _end_record(data, path)
        if cd_offset + cd_size != cd_end:
            raise _refuse(path, "its central directory does not end where the end record is (more than one "
                                "central directory, or data between them)")
        entries = _central_entries(data, cd_offset, cd_end, total, path)
        members = _check_local_headers(data, entries, cd_offset, path)
    except (struct.error, IndexError, ValueError) as exc:  # a record cut short: damaged, whatever the cause
        if isinstance(exc, FastSAMError):
            raise
        raise _unreadable(path, f"its zip records are damaged ({exc})") from None
    prefix = _check_names([m.name for m in members], path)
    _check_sizes(members, prefix, path)
    return Archive(prefix, tuple(members))


def _central_entries(data: bytes, start: int, end: int, total: int, path) -> list[tuple]:
    entries, i = [], start
    for _ in range(total):
        if data[i : i + 4] != _CENTRAL:
            raise _refuse(path, "its central directory is malformed")
        (_, _, flags, method, _, _, _, packed, size, nlen, elen, clen, disk, _, _, offset) = struct.unpack_from(
            "<HHHHHHIIIHHHHHII", data, i + 4)
        name_bytes = data[i + 46 : i + 46 + nlen]
        extra = data[i + 46 + nlen : i + 46 + nlen + elen]
        packed, size, offset = _zip64_sizes(extra, packed, size, offset)
        if flags & 0x1 or disk:
            raise _refuse(path, "its archive is encrypted or split")
        if method not in (0, 8):
            raise _refuse(path, f"a member uses compression method {method} (torch stores members plainly)")
        try:
            name = name_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise _refuse(path, "a member name is not UTF-8") from None
        entries.append((name, flags, method, packed, size, offset))
        i += 46 + nlen + elen + clen
    if i != end:
        raise _refuse(path, "its central directory holds more than its end record counts")
    return entries


def _check_local_headers(data: bytes, entries: list[tuple], cd_offset: int, path) -> list[Member]:
    """Walk the local headers in file order: they must tile [0, cd_offset) exactly."""
    members, expected = [], 0
    for name, flags, method, packed, size, offset in sorted(entries, key=lambda e: e[5]):
        if offset != expected or data[offset : offset + 4] != _LOCAL:
            raise _refuse(path, "its archive has bytes that belong to no member (hidden or overlapping data)")
        _, lflags, lmethod, _, _, _, _, _, nlen, elen = struct.unpack_from("<HHHHHIIIHH", data, offset + 4)
        if data[offset + 30 : offset + 30 + nlen].decode("utf-8", "replace") != name or lmethod != method:
            raise _refuse(path, f"the local and central records of {name!r} disagree")
        start = offset + 30 + nlen + elen
        end = start + packed
        if end > cd_offset:
            raise _unreadable(path, f"member {name!r} runs past the end of the data")
        if lflags & 0x8:  # a data descriptor follows: [signature] crc, packed, size (4 or 8 bytes each)
            end = _skip_descriptor(data, end, packed, size, cd_offset, path, name)
        members.append(Member(name, method, start, packed, size))
        expected = end
    if expected != cd_offset:
        raise _refuse(path, "its archive has bytes that belong to no member (hidden or overlapping data)")
    return members


def _skip_descriptor(data: bytes, at: int, packed: int, size: int, limit: int, path, name: str) -> int:
    base = at + 4 if data[at : at + 4] == _DESCRIPTOR else at
    for width, fmt in ((4, "<II"), (8, "<QQ")):
        if base + 4 + 2 * width <= limit and struct.unpack_from(fmt, data, base + 4) == (packed, size):
            nxt = base + 4 + 2 * width
            if nxt == limit or data[nxt : nxt + 4] == _LOCAL:
                return nxt
    raise _refuse(path, f"the data descriptor of {name!r} disagrees with its central record")


def _check_names(names: list[str], path) -> str:
    prefixes = {n.split("/", 1)[0] for n in names}
    if len(prefixes) != 1:
        raise _refuse(path, "its members are not under one folder, as torch.save writes them")
    (prefix,) = prefixes
    folded = [n.casefold() for n in names]
    if len(set(names)) != len(names):
        raise _refuse(path, "its archive holds two members under one name (readers may pick different ones)")
    if len(set(folded)) != len(folded):
        raise _refuse(path, "its archive holds member names that differ only in case (readers may pick "
                            "different ones)")
    rest = [n[len(prefix) + 1 :] for n in names]
    if any(r == "constants.pkl" or r.startswith("code/") for r in rest):
        raise CheckpointFormatError(f"could not load {path}: it is a TorchScript archive, not a checkpoint. Use the "
                                    "original .pt weights.")
    odd = [n for n, r in zip(names, rest) if not _MEMBER.fullmatch(r) or "\\" in n]
    if odd:
        raise _refuse(path, f"its archive holds members torch.save never writes: {', '.join(sorted(odd)[:5])}")
    if "data.pkl" not in rest:
        raise _unreadable(path, "it is a zip file without a checkpoint's data.pkl")
    return prefix


def _check_sizes(members: list[Member], prefix: str, path) -> None:
    total = sum(m.size for m in members)
    if total > MAX_UNPACKED_BYTES:
        raise CheckpointLimitError(_too_big(path, f"its members unpack to {total:,} bytes", MAX_UNPACKED_BYTES))
    for m in members:
        if m.method == 8 and m.size > MAX_COMPRESSION_RATIO * max(m.packed, 1):
            raise CheckpointLimitError(
                f"refused to load {path}: member {m.name!r} would unpack {m.packed:,} bytes to {m.size:,} (a "
                f"compression ratio above {MAX_COMPRESSION_RATIO}, typical of a decompression bomb; torch.save "
                "stores members uncompressed). Nothing was unpacked."
            )
        if m.method == 0 and m.size != m.packed:
            raise _refuse(path, f"stored member {m.name!r} declares two different sizes")
    if members and next(m for m in members if m.name == f"{prefix}/data.pkl").size > MAX_PICKLE_BYTES:
        raise CheckpointLimitError(_too_big(path, "its pickle is larger than any model's", MAX_PICKLE_BYTES))


def member_bytes(data: bytes, member: Member) -> bytes:
    """A member's unpacked bytes (sizes were capped by :func:`check_archive`; inflation stops at the size)."""
    raw = data[member.start : member.start + member.packed]
    if member.method == 0:
        return raw
    inflater = zlib.decompressobj(-15)
    out = inflater.decompress(raw, member.size + 1)
    if len(out) != member.size:
        raise CheckpointFormatError(f"member {member.name!r} does not unpack to its declared size")
    return out


# --- restricted unpickling -------------------------------------------------------------------------------------

def _layer_getattr(obj, name: str):
    """``getattr`` as checkpoints may use it: only a layer class's ``forward``/``forward_fuse``.

    Ultralytics 8.0.x pickled ``Segment.detect = Detect.forward``, which protocol 2 writes as
    ``getattr(Detect, "forward")``; nothing else is fetched.
    """
    import pickle

    import torch

    if name in ("forward", "forward_fuse") and isinstance(obj, type) and issubclass(obj, torch.nn.Module):
        return getattr(obj, name)
    raise pickle.UnpicklingError(f"getattr({type(obj).__name__}, {name!r}) is not allowed in a checkpoint")


def _safe_global_objects(names: set[str]) -> list:
    """The objects for the allowed global names a pickle uses (``(object, "module.name")`` pairs)."""
    import importlib
    import pathlib

    objects = []
    for full in sorted(names):
        if full == "builtins.getattr":
            objects.append((_layer_getattr, full))
            continue
        if full.startswith("pathlib."):  # either OS's path class maps to this one
            objects.append((pathlib.Path().__class__, full))
            continue
        if full.endswith("IterableSimpleNamespace"):
            from ._ultralytics import ultralytics

            ultralytics()
            from ultralytics.utils import IterableSimpleNamespace

            objects.append((IterableSimpleNamespace, full))
            continue
        if full.endswith("multiarray.scalar"):
            import numpy as np

            objects.append((np.float64(0).__reduce__()[0], full))
            continue
        module, _, attr = full.rpartition(".")
        if module.startswith("numpy.core"):
            module = "numpy._core" + module[len("numpy.core"):]
        if module.startswith("ultralytics"):
            from ._ultralytics import ultralytics

            ultralytics()
        try:
            objects.append((getattr(importlib.import_module(module), attr), full))
        except (ImportError, AttributeError):
            continue  # the restricted unpickler then refuses the name
    if "numpy.dtype" in names:
        import numpy as np

        objects.append(type(np.dtype(np.float64)))  # built from the dtype, not named in the pickle
        objects.append(type(np.dtype(np.float32)))
        objects.append(type(np.dtype(np.float16)))
    return objects


# torch's safe-globals list is one process-wide set: loads are serialised, and each load adds only its names
_LOAD_LOCK = threading.Lock()


def restricted_unpickle(data: bytes, archive: Archive, path) -> object:
    """Unpickle a checked archive with PyTorch's restricted unpickler and the project's allow-list.

    Raises
    ------
    UnsafeCheckpointError
        The opcode walk or the restricted unpickler refused something (nothing ran).
    """
    import pickle

    import torch

    names, problems = scan_pickle(member_bytes(data, archive.member("data.pkl")))
    refused = tuple(sorted(n for n in names if not is_allowed_global(n)))
    if refused or problems:
        raise UnsafeCheckpointError(path, refused, tuple(f"data.pkl: {p}" for p in dict.fromkeys(problems)))
    with _LOAD_LOCK, torch.serialization.safe_globals(_safe_global_objects(names)):
        try:
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True, mmap=False)
        except pickle.UnpicklingError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UnsafeCheckpointError(path, (), (f"PyTorch's restricted unpickler refused it ({first})",)) from None


# module paths of Ultralytics releases before 8.0.44 (FastSAM-s/x were saved with them) -> today's
_LEGACY_MODULES = {"ultralytics.yolo.utils": "ultralytics.utils", "ultralytics.yolo.v8": "ultralytics.models.yolo",
                   "ultralytics.yolo.data": "ultralytics.data"}


def _pickle_module_with_legacy_paths():
    """A ``pickle``-like module whose Unpickler maps old Ultralytics module paths, for this one load only."""
    import pickle
    import types

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            for old, new in _LEGACY_MODULES.items():
                if module == old or module.startswith(old + "."):
                    module = new + module[len(old):]
                    break
            return super().find_class(module, name)

    return types.SimpleNamespace(Unpickler=Unpickler, load=pickle.load, __name__="pickle")


def full_unpickle(data: bytes, path) -> object:
    """Unpickle a checked archive with no restriction: only for a file the user trusts, this call only.

    Old Ultralytics module paths are mapped by this call's own unpickler (no ``sys.modules`` aliasing).
    """
    import torch

    from ._ultralytics import ultralytics

    ultralytics()  # a pickle naming Ultralytics classes imports it: offline-configured first
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=False,
                      pickle_module=_pickle_module_with_legacy_paths())


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A checkpoint read through :func:`load_checkpoint`.

    Attributes
    ----------
    path : Path
    checkpoint : object
        What the file unpickled to (a dict for Ultralytics checkpoints).
    sha256 : str or None
        Of the bytes that were checked and unpickled (None when nothing asked for it).
    trusted : bool
        Whether it was fully unpickled because the user trusted it.
    """

    path: Path
    checkpoint: object
    sha256: str | None
    trusted: bool


def load_checkpoint(path: str | os.PathLike, *, trust: bool | None = None, unpickle: bool = True,
                    digest: bool = False) -> LoadedCheckpoint:
    """Read, check and unpickle one checkpoint file; the only way napari-fastsam opens a ``.pt``.

    Parameters
    ----------
    path : path
    trust : bool, optional
        Fully unpickle this one file (it may run code from it: only for files you trust).
        ``None`` reads ``$NAPARI_FASTSAM_TRUST_CHECKPOINTS`` (``1``, or a list naming this file).
    unpickle : bool
        With ``trust``, False only checks the bytes (pins, archive) and unpickles nothing
        (``checkpoint`` is None): for callers whose own reader restricts unpickling (open_clip).
    digest : bool
        Compute the sha256 of the bytes even when no pin or record asks for it (0.3 s for FastSAM-x).

    Raises
    ------
    UnsafeCheckpointError, CheckpointFormatError, CheckpointLimitError, ChecksumMismatchError
        Each names the file and the reason; nothing from the file ran.
    """
    from .weights import check_digest

    path = Path(path)
    trust = trust_from_env(path) if trust is None else bool(trust)
    from .weights import digest_needed

    data = read_checkpoint_bytes(path)
    sha256 = hashlib.sha256(data).hexdigest() if digest or digest_needed(path) else None
    if sha256 is not None:
        check_digest(path, sha256)
    archive = check_archive(data, path)
    if trust and not unpickle:
        return LoadedCheckpoint(path, None, sha256, trust)
    try:
        checkpoint = full_unpickle(data, path) if trust else restricted_unpickle(data, archive, path)
    except (RuntimeError, EOFError, ValueError) as exc:  # torch's reader: damaged members, bad records
        if isinstance(exc, FastSAMError):
            raise
        raise _unreadable(path, f"it is damaged ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    return LoadedCheckpoint(path, checkpoint, sha256, trust)


# --- the model: rebuilt from its architecture ------------------------------------------------------------------

#: Layer types a FastSAM / YOLOv8-seg architecture may use (names as written in Ultralytics model YAMLs).
ALLOWED_LAYERS = frozenset({
    "Conv", "DWConv", "ConvTranspose", "Focus", "GhostConv", "RepConv", "Concat", "Bottleneck", "BottleneckCSP",
    "C1", "C2", "C2f", "C3", "C3x", "C3TR", "C3Ghost", "GhostBottleneck", "SPP", "SPPF", "C2fAttn", "C3k2", "C2PSA",
    "SPPELAN", "RepNCSPELAN4", "ADown", "ELAN1", "AConv", "CBLinear", "CBFuse", "Proto", "DFL",
    "Segment", "Detect", "nn.Upsample", "torch.nn.Upsample", "nn.Identity", "Upsample", "Identity",
})


def check_architecture(arch: dict, path) -> None:
    """Refuse an architecture (Ultralytics model YAML as a dict) that FastSAM never uses.

    Only known layer names (:data:`ALLOWED_LAYERS`: no ``TorchVision``, which downloads weights when
    built), at most :data:`MAX_LAYERS` layers, repeats and widths within reason.

    Raises
    ------
    CheckpointLimitError
        Unknown layers or too many.
    """
    if not isinstance(arch, dict) or not isinstance(arch.get("backbone"), list) or not isinstance(arch.get("head"),
                                                                                                     list):
        raise CheckpointLimitError(f"refused to load {path}: it carries no YOLOv8-seg architecture (backbone and "
                                   "head). Use FastSAM-s/x or a checkpoint written by `napari-fastsam train`.")
    layers = arch["backbone"] + arch["head"]
    if not 1 <= len(layers) <= MAX_LAYERS:
        raise CheckpointLimitError(f"refused to load {path}: its architecture has {len(layers)} layers (at most "
                                   f"{MAX_LAYERS}; FastSAM-x has 23).")
    for layer in layers:
        if not (isinstance(layer, (list, tuple)) and len(layer) == 4):
            raise CheckpointLimitError(f"refused to load {path}: a layer of its architecture is malformed: {layer!r}")
        _, repeats, module, _ = layer
        if not isinstance(module, str) or module not in ALLOWED_LAYERS:
            raise CheckpointLimitError(
                f"refused to load {path}: its architecture uses the layer {module!r}, which FastSAM never uses "
                "(some layers fetch weights from the internet or run code when built)."
            )
        if not isinstance(repeats, int) or not 1 <= repeats <= 32:
            raise CheckpointLimitError(f"refused to load {path}: a layer repeats {repeats!r} times.")
    for key in ("nc", "reg_max"):
        if key in arch and not (isinstance(arch[key], int) and 1 <= arch[key] <= 1000):
            raise CheckpointLimitError(f"refused to load {path}: its architecture sets {key}={arch[key]!r}.")
    scales = arch.get("scales")
    if scales is not None and not isinstance(scales, dict):
        raise CheckpointLimitError(f"refused to load {path}: its architecture's scales are malformed.")


def architecture_from_yaml(path: str | os.PathLike) -> dict:
    """A model YAML as plain data (no aliases or tags, at most 1 MiB), with the scale its file name picks.

    Ultralytics picks the width/depth scale from the file name (``yolov8s-seg.yaml`` -> ``s``); the
    dict gets the same ``scale`` so :func:`build_skeleton` counts what Ultralytics would build.
    """
    from ..io.plain_yaml import PlainYAMLError, load_plain_yaml

    try:
        arch = load_plain_yaml(path, max_bytes=1 << 20)
    except (PlainYAMLError, OSError) as exc:
        raise CheckpointLimitError(f"refused the model configuration {path}: {exc}") from None
    if isinstance(arch, dict) and isinstance(arch.get("scales"), dict) and not arch.get("scale"):
        from ._ultralytics import ultralytics

        ultralytics()
        from ultralytics.nn.tasks import guess_model_scale

        scale = guess_model_scale(str(path))
        if scale in arch["scales"]:
            arch["scale"] = scale
    return arch


def build_skeleton(arch: dict, path):
    """Build the model of an architecture on the ``meta`` device: layers and shapes, no memory, no weights.

    Returns
    -------
    ultralytics.nn.tasks.SegmentationModel
        Parameters on ``meta``; counted against :data:`MAX_PARAMETERS` / :data:`MAX_MODULES` before return.
    """
    import copy

    import torch

    from ._ultralytics import ultralytics

    check_architecture(arch, path)
    ultralytics()
    from ultralytics.nn import tasks

    arch = copy.deepcopy(arch)
    arch.pop("yaml_file", None)
    ch = int(arch.get("channels", arch.get("ch", 3)) or 3)
    model = tasks.SegmentationModel.__new__(tasks.SegmentationModel)
    torch.nn.Module.__init__(model)
    with torch.device("meta"), contextlib.redirect_stdout(io.StringIO()):
        try:
            tasks._initialize_yolo_model(model, arch, ch, None, False)
            tasks.initialize_weights(model)  # not weights: BatchNorm eps/momentum and in-place activations
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as exc:
            raise CheckpointLimitError(f"refused to load {path}: its architecture cannot be built "
                                       f"({type(exc).__name__}: {exc}).") from None
    n_modules = sum(1 for _ in model.modules())
    n_params = sum(t.numel() for t in model.state_dict().values())
    if n_modules > MAX_MODULES or n_params > MAX_PARAMETERS:
        raise CheckpointLimitError(
            f"refused to load {path}: its architecture has {n_params:,} parameters in {n_modules:,} modules (limits "
            f"{MAX_PARAMETERS:,} and {MAX_MODULES:,}; FastSAM-x has 72 M in 401). Nothing was allocated."
        )
    head = model.model[-1]
    if not hasattr(head, "proto"):
        raise CheckpointLimitError(f"refused to load {path}: its architecture is not a segmentation model (no mask "
                                   "prototypes); FastSAM needs YOLOv8-seg weights such as FastSAM-s.pt.")
    return model


def check_tensors(state: dict, path) -> None:
    """Refuse tensors that claim more elements than their storage holds (zero strides expand on ``.float()``)."""
    import torch

    total = 0
    for name, t in state.items():
        if not isinstance(t, torch.Tensor):
            raise CheckpointLimitError(f"refused to load {path}: {name} is not a tensor.")
        held = t.untyped_storage().nbytes() // max(t.element_size(), 1)
        if t.numel() > held or not t.is_contiguous():
            raise CheckpointLimitError(
                f"refused to load {path}: tensor {name} claims {t.numel():,} values over a storage of {held:,} "
                "(expanded or overlapping: converting it would allocate far more than the file holds)."
            )
        total += t.numel()
    if total > MAX_PARAMETERS:
        raise CheckpointLimitError(f"refused to load {path}: {total:,} values (limit {MAX_PARAMETERS:,}).")


def model_from_state(arch: dict, state: dict, stride, path, extras: dict | None = None):
    """A float32 eval-mode segmentation model: ``arch`` built on ``meta``, then given ``state``'s tensors.

    Parameters
    ----------
    arch : dict
        Ultralytics model YAML as a dict.
    state : dict of str -> tensor
        Must match the architecture's keys and shapes exactly.
    stride : sequence of float
        The head's strides (one per detection level: 8, 16, 32).
    extras : dict, optional
        ``names``, ``args``, ``task`` to set on the model.

    Raises
    ------
    CheckpointLimitError
        State and architecture disagree.
    """
    import torch

    check_tensors(state, path)
    model = build_skeleton(arch, path)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    if expected != got:
        missing = sorted(set(expected) - set(got))[:3]
        extra = sorted(set(got) - set(expected))[:3]
        shapes = sorted(k for k in set(expected) & set(got) if expected[k] != got[k])[:3]
        raise CheckpointLimitError(
            f"refused to load {path}: its weights do not match its architecture (missing {missing}, unexpected "
            f"{extra}, other shapes {shapes})."
        )
    dtypes = {t.dtype for t in state.values()}
    if not dtypes <= {torch.float16, torch.float32, torch.bfloat16, torch.float64, torch.int64}:
        raise CheckpointLimitError(f"refused to load {path}: tensors of types {sorted(map(str, dtypes))}.")
    model.load_state_dict(
        {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}, strict=True, assign=True
    )
    stride = torch.as_tensor([float(s) for s in stride], dtype=torch.float32)
    head = model.model[-1]
    if stride.numel() != getattr(head, "nl", stride.numel()) or not all(s in (4, 8, 16, 32, 64, 128) for s in stride):
        raise CheckpointLimitError(f"refused to load {path}: its head strides {stride.tolist()} are not a YOLO's.")
    head.stride = model.stride = stride
    head.inplace = model.inplace
    for module in model.modules():  # any tensor still on meta was not in the state: refuse rather than guess
        for key, value in vars(module).items():
            if isinstance(value, torch.Tensor) and value.is_meta:
                raise CheckpointLimitError(f"refused to load {path}: {type(module).__name__}.{key} has no value.")
    for key, value in (extras or {}).items():
        setattr(model, key, value)
    return model.eval()


def segmentation_model_from_checkpoint(loaded: LoadedCheckpoint):
    """The segmentation model of an Ultralytics checkpoint, rebuilt from its architecture and its weights.

    The unpickled module supplies only its architecture dict, tensors, strides, class names and training
    arguments; the layers that run are built by the installed Ultralytics from the architecture.

    Returns
    -------
    model : ultralytics.nn.tasks.SegmentationModel
    checkpoint : dict
        The checkpoint dict (for its records), with ``"model"`` replaced by the rebuilt model.
    """
    import torch

    ckpt, path = loaded.checkpoint, loaded.path
    if not isinstance(ckpt, dict):
        raise CheckpointFormatError(f"could not load {path}: it is not an Ultralytics checkpoint (a dict with a "
                                    "'model'). Use FastSAM-s/x or a checkpoint written by `napari-fastsam train`.")
    source = ckpt.get("ema") or ckpt.get("model")
    if not isinstance(source, torch.nn.Module):
        raise CheckpointFormatError(f"could not load {path}: it holds no model (its 'model' entry is "
                                    f"{type(source).__name__}).")
    n_modules = sum(1 for _ in source.modules())
    if n_modules > MAX_MODULES:
        raise CheckpointLimitError(f"refused to load {path}: {n_modules:,} modules (limit {MAX_MODULES:,}).")
    arch = getattr(source, "yaml", None)
    state = dict(source.state_dict())
    stride = getattr(source, "stride", None)
    stride = stride.tolist() if isinstance(stride, torch.Tensor) else list(stride or [])
    names = getattr(source, "names", None)
    train_args = ckpt.get("train_args")
    train_args = dict(vars(train_args)) if hasattr(train_args, "__dict__") and not isinstance(train_args, dict) \
        else dict(train_args or {})
    extras = {"names": _names(names), "task": "segment"}
    model = model_from_state(arch, state, stride, path, extras)
    from ultralytics.cfg import DEFAULT_CFG_DICT

    # Ultralytics reads a model's args as its defaults; only the input size is kept from the file
    model.args = {**DEFAULT_CFG_DICT, **{k: v for k, v in train_args.items() if k == "imgsz" and isinstance(v, int)}}
    model.pt_path = str(path)
    out = dict(ckpt)
    out.pop("ema", None)
    out["model"] = model
    out["train_args"] = train_args
    return model, out


def _names(names) -> dict[int, str]:
    if isinstance(names, dict):
        return {int(k): str(v) for k, v in names.items() if isinstance(k, int)}
    if isinstance(names, (list, tuple)):
        return dict(enumerate(map(str, names)))
    return {0: "object"}


_PRELOADED = threading.local()


def yolo_from_model(model, checkpoint: dict, path, task: str = "segment"):
    """An Ultralytics ``YOLO`` wrapping an already built model; Ultralytics reads no file.

    Parameters
    ----------
    model : ultralytics.nn.tasks.SegmentationModel
    checkpoint : dict
        Kept as ``YOLO.ckpt`` (records are read from it).
    path : path
        Shown by Ultralytics as the model's name.
    """
    from ._ultralytics import ultralytics

    cls = _preloaded_yolo_class(ultralytics().YOLO)
    _PRELOADED.value = (model, checkpoint)
    try:
        return cls(str(path), task=task)
    finally:
        _PRELOADED.value = None


_YOLO_CLASSES: dict[type, type] = {}


def _preloaded_yolo_class(base: type) -> type:
    if base not in _YOLO_CLASSES:

        def _load(self, weights: str, task: str | None = None) -> None:  # replaces Ultralytics' file read
            model, ckpt = _PRELOADED.value
            self.model, self.ckpt = model, ckpt
            self.task = getattr(model, "task", None) or task or "segment"
            args = getattr(model, "args", None) or {}
            args = args if isinstance(args, dict) else dict(vars(args))
            self.overrides = self.model.args = {k: v for k, v in args.items() if k in ("imgsz", "single_cls")}
            self.overrides.update({"model": str(weights), "task": self.task})
            self.ckpt_path = str(weights)
            self.model_name = str(weights)

        _YOLO_CLASSES[base] = type("PreloadedYOLO", (base,), {"_load": _load, "__module__": __name__})
    return _YOLO_CLASSES[base]
