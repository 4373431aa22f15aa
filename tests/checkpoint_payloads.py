"""Hostile and odd checkpoints for the safety tests: files whose unpickling would create a marker file.

Each payload class pickles as a call; ``torch.load(weights_only=False)`` (what
Ultralytics does by default) runs it. The tests assert the marker never appears.
"""

from __future__ import annotations

import builtins
import datetime
import os
from pathlib import Path


class SystemPayload:
    """Unpickles as ``os.system("touch <marker>")`` (the global is ``posix.system`` on Linux)."""

    def __init__(self, marker: Path) -> None:
        self.marker = Path(marker)

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


class ExecPayload:
    """Unpickles as ``builtins.exec("open(<marker>, 'w').close()")``."""

    def __init__(self, marker: Path) -> None:
        self.marker = Path(marker)

    def __reduce__(self):
        return builtins.exec, (f"open({str(self.marker)!r}, 'w').close()",)


class HarmlessUnknown:
    """Unpickles as ``datetime.timedelta(days=1)``: harmless, but not on the allow-list."""

    def __reduce__(self):
        return datetime.timedelta, (1,)


def evil_checkpoint(path: Path, marker: Path, payload: type = SystemPayload, protocol: int = 2) -> Path:
    """A checkpoint laid out like Ultralytics' (``{"model": ..., ...}``) carrying a payload."""
    import torch

    torch.save({"model": None, "train_args": {"epochs": 1}, "payload": payload(marker)}, path,
               pickle_protocol=protocol)
    return Path(path)


def harmless_unknown_checkpoint(path: Path) -> Path:
    """A checkpoint whose only unusual content is a harmless global outside the allow-list."""
    import torch

    torch.save({"model": None, "date": HarmlessUnknown()}, path)
    return Path(path)


# --- hand-assembled archives: the bypasses of issue 28 -------------------------------------------------------------

def torch_zip(members: dict[str, bytes], compress: bool = False) -> bytes:
    """A zip archive laid out like ``torch.save``'s (``archive/<name>``), members in the given order."""
    import io
    import warnings
    import zipfile

    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", method) as out:
        warnings.simplefilter("ignore")  # duplicate names are the point of some payloads
        for name, data in members.items() if isinstance(members, dict) else members:
            out.writestr(name, data)
    return buf.getvalue()


def _pickle_str(text: str) -> bytes:
    raw = text.encode()
    return b"X" + len(raw).to_bytes(4, "little") + raw


def getattr_build_pickle(marker: Path) -> bytes:
    """A pickle naming only allow-listed globals that runs ``exec`` under a full unpickle.

    ``INST builtins.getattr`` twice reaches ``exec`` (``getattr(getattr, "__self__")`` is the builtins
    module); one ``BUILD`` puts it in an ``IterableSimpleNamespace``'s ``__dict__`` as ``__setstate__``, and a
    second ``BUILD`` calls it with the code as the state.
    """
    code = f"open({str(marker)!r}, 'w').close()"
    return b"".join([
        b"\x80\x02",
        b"cultralytics.utils\nIterableSimpleNamespace\n", b")", b"\x81",  # NEWOBJ: an empty namespace
        b"}", _pickle_str("__setstate__"),
        b"((", b"cbuiltins\ngetattr\n", _pickle_str("__self__"), b"ibuiltins\ngetattr\n",  # builtins module
        _pickle_str("exec"), b"ibuiltins\ngetattr\n",  # builtins.exec
        b"s", b"b",  # SETITEM, BUILD: namespace.__setstate__ = exec
        _pickle_str(code), b"b",  # BUILD: namespace.__setstate__(code)
        b".",
    ])


def _benign_pickle() -> bytes:
    import pickle

    return pickle.dumps({"model": None, "epoch": 1}, protocol=2)


def getattr_build_checkpoint(path: Path, marker: Path) -> Path:
    """A torch zip whose ``data.pkl`` is :func:`getattr_build_pickle`."""
    Path(path).write_bytes(torch_zip({"archive/data.pkl": getattr_build_pickle(marker), "archive/version": b"3\n",
                                      "archive/byteorder": b"little"}))
    return Path(path)


def _evil_pickle(marker: Path) -> bytes:
    import pickle

    return pickle.dumps({"model": None, "payload": SystemPayload(marker)}, protocol=2)


def case_variant_checkpoint(path: Path, marker: Path, with_lowercase: bool = True) -> Path:
    """The payload stored as ``archive/data.PKL`` (torch's reader matches names case-insensitively)."""
    members = [("archive/data.PKL", _evil_pickle(marker))]
    if with_lowercase:
        members.append(("archive/data.pkl", _benign_pickle()))
    members += [("archive/version", b"3\n"), ("archive/byteorder", b"little")]
    Path(path).write_bytes(torch_zip(members))
    return Path(path)


def legacy_with_zip_appended(path: Path, marker: Path) -> Path:
    """A legacy (pre-1.6) pickle stream with the payload, followed by a harmless torch zip."""
    import io

    import torch

    legacy, benign = io.BytesIO(), io.BytesIO()
    torch.save({"payload": SystemPayload(marker)}, legacy, _use_new_zipfile_serialization=False)
    torch.save({"a": 1}, benign)
    Path(path).write_bytes(legacy.getvalue() + benign.getvalue())
    return Path(path)


def two_archives(path: Path, marker: Path) -> Path:
    """A harmless archive followed by one with the payload: two central directories and two end records.

    The second archive's offsets are shifted so that a reader starting from the last end record (torch's)
    reads the payload, while one that starts from the first member reads the harmless archive.
    """
    import io
    import struct

    import torch

    benign = io.BytesIO()
    torch.save({"a": 1}, benign)
    head = benign.getvalue()
    evil = bytearray(torch_zip({"archive/data.pkl": _evil_pickle(marker), "archive/version": b"3\n"}))
    shift = len(head)
    end = len(evil) - 22
    count, cd_size, cd_offset = struct.unpack_from("<HII", evil, end + 10)
    struct.pack_into("<I", evil, end + 16, cd_offset + shift)
    at = cd_offset
    for _ in range(count):
        nlen, elen, clen = struct.unpack_from("<HHH", evil, at + 28)
        (offset,) = struct.unpack_from("<I", evil, at + 42)
        struct.pack_into("<I", evil, at + 42, offset + shift)
        at += 46 + nlen + elen + clen
    Path(path).write_bytes(head + bytes(evil))
    return Path(path)


def deflate_bomb(path: Path, unpacked: int = 64 << 20) -> Path:
    """A small archive whose one tensor member inflates to ``unpacked`` zero bytes."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1 << 20)
    packed = b"".join(packer.compress(chunk) for _ in range(unpacked >> 20)) + packer.flush()
    import io
    import struct

    crc = 0
    for _ in range(unpacked >> 20):
        crc = zlib.crc32(chunk, crc)
    pkl = _benign_pickle()
    entries, out = [], io.BytesIO()
    for name, method, data, size, c in (("archive/data.pkl", 0, pkl, len(pkl), zlib.crc32(pkl)),
                                        ("archive/data/0", 8, packed, unpacked, crc)):
        offset = out.tell()
        raw = name.encode()
        out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0, c, len(data), size, len(raw), 0))
        out.write(raw + data)
        entries.append((raw, method, c, len(data), size, offset))
    start = out.tell()
    for raw, method, c, packed_size, size, offset in entries:
        out.write(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, method, 0, 0, c, packed_size, size,
                              len(raw), 0, 0, 0, 0, 0, offset))
        out.write(raw)
    end = out.tell()
    out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries), end - start, start, 0))
    Path(path).write_bytes(out.getvalue())
    return Path(path)


def expanded_linear_checkpoint(path: Path, layers: int = 24, width: int = 16384) -> Path:
    """A ~2 KB checkpoint of ``layers`` x ``Linear(width, width)`` whose weights are one value expanded (stride 0).

    Converting it to float32 (what loading a half-precision model does) would allocate ``layers * width**2 * 4``
    bytes (24 GiB for the defaults).
    """
    import torch

    one = torch.zeros(1, dtype=torch.float16)
    stack = torch.nn.Sequential()
    for _ in range(layers):
        lin = torch.nn.Linear(1, 1, dtype=torch.float16)
        lin.weight = torch.nn.Parameter(one.expand(width, width), requires_grad=False)
        lin.bias = None
        stack.append(lin)
    torch.save({"model": stack, "epoch": -1}, path)
    return Path(path)
