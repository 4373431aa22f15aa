"""The project's allow-list of checkpoint globals, and an opcode walk that checks a pickle against it.

A PyTorch ``.pt`` file is a zip archive whose ``data.pkl`` is a Python pickle.
Unpickling runs whatever callables the pickle names, so a shared "fine-tuned
model" can run arbitrary code the moment Ultralytics, open_clip or
``torch.load`` opens it. Every checkpoint is read by
:func:`fastsam_plugin.engine.loader.load_checkpoint`, whose gate is PyTorch's
restricted unpickler given this allow-list; :func:`scan_pickle` is its second
gate (and names the offending globals in the error). It reads the pickle's
opcodes **without executing any of them** and refuses the file unless

* every global it names is on an explicit allow-list (:data:`ALLOWED_GLOBALS`,
  plus ``torch.nn`` and Ultralytics layer/model classes, see
  :func:`is_allowed_global`): anything unknown is refused, harmless or not;
* every call it makes (``REDUCE``, ``NEWOBJ``, ``OBJ``, ``INST``) goes to such a global (never
  to a value computed while unpickling), and ``getattr`` only fetches a layer's ``forward`` /
  ``forward_fuse`` (old Ultralytics checkpoints pickle ``Detect.forward`` so);
* it never sets state on a class or function itself (``BUILD`` on a global);
* it uses no pickle construct that can reach other objects (the ``copyreg``
  extension registry), and is a ``torch.save`` zip archive, not TorchScript
  or the legacy format.

The allow-list was built by scanning checkpoints of every architecture the
project builds (YOLOv8n/s/m/l/x-seg, FastSAM-s/x layouts, the bundled demo
models, a checkpoint fine-tuned by ``napari-fastsam train``) and Ultralytics'
own list of globals in its official checkpoints.

The walk alone was passed by hand-made files (issue 28): it is never the only gate.
:func:`scan_checkpoint` / :func:`check_checkpoint` scan a file by name (for reports and
benchmarks); loading never relies on them. A user who trusts a file can skip the
restricted unpickling for one call with ``trust=True`` (or ``NAPARI_FASTSAM_TRUST_CHECKPOINTS=1``);
never the default.

The module also computes and compares the sha256 records kept next to
downloaded weights (see :mod:`.weights`).
"""

from __future__ import annotations

import _compat_pickle
import hashlib
import importlib
import os
import pickle
import pickletools
import re
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from struct import unpack_from

from ..errors import FastSAMError

ENV_TRUST = "NAPARI_FASTSAM_TRUST_CHECKPOINTS"

#: Globals a checkpoint may name, beyond the layer/model classes of :func:`is_allowed_global`.
ALLOWED_GLOBALS = frozenset(
    {
        # containers and plain values
        "builtins.set", "builtins.frozenset", "builtins.slice", "collections.OrderedDict",
        # tensors: storages, rebuild functions, sizes, dtypes, devices
        "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state", "torch.storage.UntypedStorage", "torch.Size", "torch.device",
        *(f"torch.{t}Storage" for t in ("Float", "Half", "BFloat16", "Double", "Long", "Int", "Short", "Char",
                                        "Byte", "Bool")),
        *(f"torch.{t}" for t in ("float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64",
                                 "uint8", "bool")),
        # numpy arrays, dtypes and scalars (metrics and arguments in training checkpoints)
        "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.ndarray", "numpy.dtype",
        "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
        # Ultralytics training arguments (current and pre-8.0.44 module path) and paths in them
        "ultralytics.utils.IterableSimpleNamespace", "ultralytics.yolo.utils.IterableSimpleNamespace",
        "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib._local.PosixPath", "pathlib._local.WindowsPath",
        # checked call by call: only ``getattr(<anything>, "forward" | "forward_fuse")`` passes
        "builtins.getattr",
    }
)
GETATTR_GLOBALS = frozenset({"builtins.getattr"})
GETATTR_NAMES = frozenset({b"forward", b"forward_fuse"})

# module paths whose nn.Module subclasses are allowed (checked by importing the class, never the file)
_LAYER_MODULE = re.compile(r"^(torch\.nn\.modules(\.[a-z_]+)?|ultralytics\.nn\.modules\.[a-z_]+|ultralytics\.nn\.tasks)$")


class UnsafeCheckpointError(FastSAMError, RuntimeError):
    """A checkpoint names code outside the allow-list, or its contents cannot be vouched for; nothing was run.

    Attributes
    ----------
    path : path or str
        The file (or the URL a refused download came from).
    refused : tuple of str
        The globals outside the allow-list (``"posix.system"``, ...).
    problems : tuple of str
        Other reasons (pickle constructs the scan does not accept).
    """

    def __init__(self, path: str | os.PathLike, refused: tuple[str, ...], problems: tuple[str, ...]) -> None:
        self.path, self.refused, self.problems = path, tuple(refused), tuple(problems)
        what = []
        if refused:
            what.append("it names code outside napari-fastsam's allow-list: " + ", ".join(refused))
        what.extend(problems)
        super().__init__(
            f"refused to load {path}: {'; '.join(what)}. Loading it could run code hidden in the file, so nothing "
            "from it was run. Use weights from a source you trust (FastSAM-s / FastSAM-x, the demo model, or a "
            "checkpoint written by `napari-fastsam train`). If you know where this file comes from and trust it, "
            f"load it with trust=True or set {ENV_TRUST}=1 (see SECURITY.md)."
        )


class CheckpointFormatError(FastSAMError, RuntimeError):
    """The file is not a readable ``torch.save`` archive (empty, truncated, foreign, TorchScript, legacy)."""


class ChecksumMismatchError(FastSAMError, RuntimeError):
    """A file's sha256 differs from the one recorded or pinned for it (substituted or truncated)."""


def trust_from_env(path: str | os.PathLike | None = None) -> bool:
    """Whether ``$NAPARI_FASTSAM_TRUST_CHECKPOINTS`` trusts ``path``.

    ``1``/``true``/``yes``/``on`` trusts every checkpoint; otherwise the value may name the files
    trusted (paths separated by ``os.pathsep``), and only a load of one of those files is trusted.
    """
    value = os.environ.get(ENV_TRUST, "").strip()
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if path is None or not value or value.lower() in {"0", "false", "no", "off"}:
        return False
    for named in value.split(os.pathsep):
        try:
            if named and os.path.samefile(os.path.expanduser(named), path):
                return True
        except OSError:
            continue
    return False


@cache
def _layer_class_allowed(name: str) -> bool:
    module, _, attr = name.rpartition(".")
    if not _LAYER_MODULE.match(module) or not attr.isidentifier() or attr.startswith("_"):
        return False
    if module.startswith("ultralytics"):
        from ._ultralytics import ultralytics

        ultralytics()  # import it offline-configured, as everywhere else
    import torch.nn

    try:
        obj = getattr(importlib.import_module(module), attr, None)
    except ImportError:
        return False
    return isinstance(obj, type) and issubclass(obj, torch.nn.Module) and obj.__module__.startswith(module)


def is_allowed_global(name: str) -> bool:
    """Whether a checkpoint may name ``name`` (``"module.qualname"``).

    Allowed: :data:`ALLOWED_GLOBALS`, and classes that are ``torch.nn.Module``
    subclasses defined in ``torch.nn.modules.*``, ``ultralytics.nn.modules.*``
    or ``ultralytics.nn.tasks`` (layers and models). Classes are looked up in
    the installed packages, never in the file.
    """
    return name in ALLOWED_GLOBALS or _layer_class_allowed(name)


# --- the opcode scan -------------------------------------------------------------------------------------------

class _Global:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


_OPS = {op.code.encode("latin-1")[0]: op for op in pickletools.opcodes}
_STRING_OPS = {"BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8", "BINSTRING", "SHORT_BINSTRING"}


def _op_table() -> dict[int, tuple[str, int, int, int, bool]]:
    """opcode byte -> (name, argument size code, items popped, items pushed, pops to a mark)."""
    table = {}
    for code, op in _OPS.items():
        before = op.stack_before
        to_mark = pickletools.markobject in before
        popped = before.index(pickletools.markobject) if to_mark else len(before)
        table[code] = (op.name, op.arg.n if op.arg is not None else 0, popped, len(op.stack_after), to_mark)
    return table


_TABLE = _op_table()
_BINGET, _LONG_BINPUT, _BINPUT, _EMPTY_TUPLE, _BININT1, _MARK = (
    ord(c) for c in (pickle.BINGET, pickle.LONG_BINPUT, pickle.BINPUT, pickle.EMPTY_TUPLE, pickle.BININT1, pickle.MARK)
)
_LENGTH_WIDTH = {pickletools.TAKEN_FROM_ARGUMENT1: 1, pickletools.TAKEN_FROM_ARGUMENT4: 4,
                 pickletools.TAKEN_FROM_ARGUMENT4U: 4, pickletools.TAKEN_FROM_ARGUMENT8U: 8}


def _global_name(module: bytes, name: bytes, proto: int) -> str:
    """``module.name`` as the unpickler resolves it (protocol < 3 maps Python 2 names, ``__builtin__``...)."""
    mod, attr = module.decode("utf-8", "replace"), name.decode("utf-8", "replace")
    if proto < 3:
        if (mod, attr) in _compat_pickle.NAME_MAPPING:
            mod, attr = _compat_pickle.NAME_MAPPING[(mod, attr)]
        elif mod in _compat_pickle.IMPORT_MAPPING:
            mod = _compat_pickle.IMPORT_MAPPING[mod]
    return f"{mod}.{attr}"


def scan_pickle(data: bytes) -> tuple[set[str], list[str]]:
    """Statically walk one pickle; return the globals it names and the problems found.

    The stack is simulated symbolically (strings, globals, tuples, unknowns)
    so calls can be checked: the callable of every ``REDUCE``/``NEWOBJ``/``OBJ``
    must be a global named by the pickle itself, and ``getattr`` calls must
    fetch an attribute listed in :data:`GETATTR_NAMES`.

    Parameters
    ----------
    data : bytes
        One complete pickle (a checkpoint's ``data.pkl``).

    Returns
    -------
    names : set of str
        Every global named (``"module.qualname"``).
    problems : list of str
        Unsafe constructs found.

    Raises
    ------
    ValueError
        The bytes are not a well-formed pickle (truncated, unknown opcode).
    """
    names: set[str] = set()
    problems: list[str] = []
    stack: list = []
    marks: list[int] = []
    memo: dict[int, object] = {}
    table, n_data, i, proto = _TABLE, len(data), 0, 0
    frm = int.from_bytes

    def pop_mark() -> list:
        k = marks.pop()
        items = stack[k:]
        del stack[k:]
        return items

    def check_call(func, args) -> None:
        if not isinstance(func, _Global):
            problems.append("it calls a value built while unpickling (not a named, allowed function)")
        elif func.name in GETATTR_GLOBALS and not (
            isinstance(args, tuple) and len(args) == 2 and args[1] in GETATTR_NAMES
        ):
            problems.append("it uses getattr for something other than a layer's forward method")

    try:
        while True:
            if i >= n_data:
                raise ValueError("the pickle ends without its STOP opcode")
            code = data[i]
            i += 1
            # fast paths for the opcodes that make up most of a torch checkpoint's pickle
            if code == _BINGET:
                stack.append(memo.get(data[i]))
                i += 1
                continue
            if code == _LONG_BINPUT:
                memo[unpack_from("<I", data, i)[0]] = stack[-1]
                i += 4
                continue
            if code == _BINPUT:
                memo[data[i]] = stack[-1]
                i += 1
                continue
            if code == _EMPTY_TUPLE:
                stack.append(())
                continue
            if code == _BININT1:
                stack.append(None)
                i += 1
                continue
            if code == _MARK:
                marks.append(len(stack))
                continue
            entry = table.get(code)
            if entry is None:
                raise ValueError(f"unknown pickle opcode 0x{code:02x}")
            name, n, popped, pushed, to_mark = entry
            # read the opcode's argument
            if n == 0:
                arg = None
            elif n > 0:
                arg = data[i : i + n]
                i += n
            elif n == pickletools.UP_TO_NEWLINE:
                j = data.index(b"\n", i)
                arg = data[i:j]
                i = j + 1
                if name in ("GLOBAL", "INST"):
                    j = data.index(b"\n", i)
                    arg = (arg, data[i:j])
                    i = j + 1
            else:
                width = _LENGTH_WIDTH[n]
                size = frm(data[i : i + width], "little", signed=n == pickletools.TAKEN_FROM_ARGUMENT4)
                i += width
                if size < 0 or i + size > n_data:
                    raise ValueError("a length runs past the end")
                arg = data[i : i + size]
                i += size
            # its effect on the symbolic stack
            if name == "STOP":
                break
            if name in ("BINPUT", "LONG_BINPUT"):
                memo[frm(arg, "little")] = stack[-1]
            elif name in ("BINGET", "LONG_BINGET"):
                stack.append(memo.get(frm(arg, "little")))
            elif name == "MARK":
                marks.append(len(stack))
            elif name in _STRING_OPS:
                stack.append(bytes(arg))
            elif name == "TUPLE2":
                b = stack.pop()
                stack[-1] = (stack[-1], b)
            elif name == "TUPLE":
                stack.append(tuple(pop_mark()))
            elif name == "TUPLE1":
                stack[-1] = (stack[-1],)
            elif name == "TUPLE3":
                c, b = stack.pop(), stack.pop()
                stack[-1] = (stack[-1], b, c)
            elif name == "EMPTY_TUPLE":
                stack.append(())
            elif name == "REDUCE":
                args = stack.pop()
                check_call(stack[-1], args)
                stack[-1] = None
            elif name in ("GLOBAL", "INST"):
                full = _global_name(arg[0], arg[1], proto)
                names.add(full)
                if name == "GLOBAL":
                    stack.append(_Global(full))
                else:  # INST: the callable is named inline and called on the items above the mark
                    check_call(_Global(full), tuple(pop_mark()))
                    stack.append(None)
            elif name == "STACK_GLOBAL":
                attr, module = stack.pop(), stack.pop()
                if not (isinstance(module, bytes) and isinstance(attr, bytes)):
                    problems.append("it names a global computed while unpickling")
                    stack.append(None)
                else:
                    full = _global_name(module, attr, proto)
                    names.add(full)
                    stack.append(_Global(full))
            elif name == "NEWOBJ":
                args = stack.pop()
                check_call(stack[-1], args)
                stack[-1] = None
            elif name == "NEWOBJ_EX":
                stack.pop()
                args = stack.pop()
                check_call(stack[-1], args)
                stack[-1] = None
            elif name == "OBJ":
                items = pop_mark()
                check_call(items[0] if items else None, tuple(items[1:]))
                stack.append(None)
            elif name == "PROTO":
                proto = arg[0]
            elif name == "BUILD":
                stack.pop()
                if isinstance(stack[-1], _Global):  # would set attributes on a class or function itself
                    problems.append("it changes a class or function while unpickling")
                stack[-1] = None
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name == "PUT":
                memo[int(arg)] = stack[-1]
            elif name == "GET":
                stack.append(memo.get(int(arg)))
            elif name == "DUP":
                stack.append(stack[-1])
            elif name in ("EXT1", "EXT2", "EXT4"):
                problems.append("it uses the copyreg extension registry, which can reach any object")
                stack.append(None)
            else:  # generic: pop what the opcode consumes, push unknowns
                if to_mark:
                    pop_mark()
                if popped:
                    del stack[len(stack) - popped :]
                    if len(stack) < (marks[-1] if marks else 0):
                        raise IndexError("pop below a mark")
                stack.extend([None] * pushed)
    except (IndexError, KeyError) as exc:  # stack or memo underflow
        raise ValueError(f"{type(exc).__name__} at byte {i}") from None
    return names, problems


@dataclass(frozen=True)
class ScanReport:
    """What :func:`scan_checkpoint` found.

    Attributes
    ----------
    path : Path
    globals : frozenset of str
        Every global the checkpoint's pickles name.
    refused : tuple of str
        Those outside the allow-list, sorted.
    problems : tuple of str
        Other reasons to refuse the file.
    unreadable : str or None
        Why the file is not a readable checkpoint at all, if so.
    """

    path: Path
    globals: frozenset[str]
    refused: tuple[str, ...]
    problems: tuple[str, ...]
    unreadable: str | None = None

    @property
    def safe(self) -> bool:
        """True when the file is a readable checkpoint and nothing was refused."""
        return not self.refused and not self.problems and self.unreadable is None

    def raise_if_unsafe(self) -> None:
        """Raise :class:`UnsafeCheckpointError` (or :class:`CheckpointFormatError`) naming the file and why."""
        if self.refused or self.problems:
            raise UnsafeCheckpointError(self.path, self.refused, self.problems)
        if self.unreadable is not None:
            raise CheckpointFormatError(
                f"could not load {self.path}: {self.unreadable}. The file may be truncated or not a model: "
                "download it again, or pick another file."
            )


def scan_checkpoint(path: str | os.PathLike) -> ScanReport:
    """Scan a ``torch.save`` checkpoint without unpickling it.

    Every ``*.pkl`` record of the zip archive is walked with
    :func:`scan_pickle` (``torch.load`` reads ``data.pkl``; scanning them all
    leaves no room for a record it might pick instead).

    Parameters
    ----------
    path : path
        The ``.pt`` file.

    Returns
    -------
    ScanReport
    """
    path = Path(path)
    names: set[str] = set()
    problems: list[str] = []
    unreadable = None
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            records = [info.filename for info in infos]
            if len(set(records)) != len(records):  # readers may disagree on which copy they open
                problems.append("its archive holds two records under one name")
            if any(r.endswith("constants.pkl") or "/code/" in r for r in records):
                unreadable = "it is a TorchScript archive, not a checkpoint"
            elif not any(r.endswith("/data.pkl") or r == "data.pkl" for r in records):
                unreadable = "it is a zip file without a checkpoint's data.pkl"
            for info in infos:
                if info.filename.endswith(".pkl"):
                    found, trouble = scan_pickle(archive.read(info))  # by entry, not by name
                    names |= found
                    problems.extend(f"{info.filename}: {t}" for t in dict.fromkeys(trouble))
    except zipfile.BadZipFile:
        unreadable = ("it is not a torch.save zip archive (an empty, truncated or foreign file, or the legacy "
                      "pre-1.6 format, which napari-fastsam does not open)")
    except (ValueError, EOFError, zipfile.LargeZipFile, NotImplementedError) as exc:
        unreadable = f"it is damaged ({type(exc).__name__}: {exc})"
    refused = tuple(sorted(n for n in names if not is_allowed_global(n)))
    return ScanReport(path, frozenset(names), refused, tuple(problems), unreadable)


def check_checkpoint(path: str | os.PathLike, *, trust: bool | None = None) -> ScanReport | None:
    """Refuse a checkpoint that fails :func:`scan_checkpoint`, unless the user trusts it.

    Parameters
    ----------
    path : path
    trust : bool, optional
        Skip the scan. ``None`` reads ``$NAPARI_FASTSAM_TRUST_CHECKPOINTS``.

    Returns
    -------
    ScanReport or None
        None when the scan was skipped.

    Raises
    ------
    UnsafeCheckpointError
        It names code outside the allow-list or uses constructs the scan refuses.
    CheckpointFormatError
        It is not a readable ``torch.save`` archive.
    """
    if trust is None:
        trust = trust_from_env(path)
    if trust:
        return None
    report = scan_checkpoint(path)
    report.raise_if_unsafe()
    return report


# --- sha256 ----------------------------------------------------------------------------------------------------

def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in 4 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def record_path(path: str | os.PathLike) -> Path:
    """Where the sha256 of ``path`` is recorded: ``<file>.sha256`` (``sha256sum`` format)."""
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def write_record(path: str | os.PathLike, digest: str | None = None) -> str:
    """Record the sha256 of ``path`` next to it (``sha256sum -c`` can check it); return the digest."""
    path = Path(path)
    digest = digest or sha256_file(path)
    tmp = record_path(path).with_suffix(".tmp")
    tmp.write_text(f"{digest}  {path.name}\n", encoding="ascii")
    tmp.replace(record_path(path))
    return digest


def read_record(path: str | os.PathLike) -> str | None:
    """The recorded sha256 of ``path``, or None when there is no (readable) record."""
    try:
        text = record_path(path).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return None
    return text[0].lower() if text and re.fullmatch(r"[0-9a-fA-F]{64}", text[0]) else None
