"""Paths named inside files from someone else (records, COCO files, datasets) kept inside the folder the user named.

A prompt record, a COCO annotation file or an SA-1B folder comes from a
collaborator or a download. The names inside it (an output name, an image
``file_name``, a weights path) are not the user's: followed blindly, a
``file_name`` of ``../../home/me/.ssh/id_rsa.png`` or an output of
``../../../etc/x`` makes napari-fastsam read or write outside the folders the
user gave on the command line. Every such name goes through this module:

* :func:`path_inside` joins a name to the folder the user named, resolves it
  (symlinks included) and refuses it unless it stays inside that folder;
* :func:`check_output_name` refuses an output name that is not one plain file
  name part;
* :func:`check_regular_file` refuses anything but a regular file on a real
  file system (no device, FIFO, socket, ``/proc`` or ``/sys`` pseudo-file).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import FastSAMError

#: pseudo file systems whose "regular files" are kernel views (``/proc/kcore`` claims 128 TiB)
PSEUDO_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))


class PathOutsideError(FastSAMError, ValueError):
    """A path taken from a file leads outside the folder the user named (or is not a plain name)."""


class NotARegularFileError(FastSAMError, ValueError):
    """A path taken from a file names a device, FIFO, socket, folder or pseudo-file instead of a regular file."""


def path_inside(folder: str | Path, name: str | os.PathLike, *, source: str | Path, what: str = "file",
                folder_label: str = "folder") -> Path:
    """``folder / name`` resolved, refused unless it lies inside ``folder``.

    Parameters
    ----------
    folder : path
        The folder the user named (``--images``, ``--out``, the dataset folder).
    name : str or path
        A name read from ``source``: relative, inside ``folder``. Absolute names,
        ``..`` that climbs out and symlinks that point out are refused.
    source : path or str
        The file the name came from (named in the error).
    what : str
        What the name stands for, for the message (``"image"``, ``"output"``).
    folder_label : str
        What the folder is, for the message (``"image folder"``, ``"--out folder"``).

    Returns
    -------
    Path
        The resolved path (symlinks followed), inside ``folder.resolve()``.

    Raises
    ------
    PathOutsideError
        Naming ``source``, the name and the folder.
    """
    root = Path(folder).resolve()
    text = os.fspath(name)
    if not isinstance(text, str) or not text or "\x00" in text:
        raise PathOutsideError(f"{source} names the {what} {text!r}, which is not a usable file name.")
    # resolve() follows every symlink on the way: a link inside the folder that points out is caught too
    candidate = (root / text).resolve()
    if Path(text).is_absolute() or not candidate.is_relative_to(root) or candidate == root:
        raise PathOutsideError(
            f"{source} names the {what} {text!r}, which lies outside the {folder_label} {root}. Names in such files must be "
            f"relative paths inside that folder (no absolute paths, no '..' or links leading out): fix {source}, "
            "or move the files into the folder you named."
        )
    return candidate


def check_output_name(name: str, *, source: str | Path) -> str:
    """``name`` when it is one plain file-name part (no separator, no ``..``, no NUL); else :class:`PathOutsideError`.

    Output names from a record become part of a file name (``<image>_<name>.tif``):
    a separator would place the file elsewhere.
    """
    if (not isinstance(name, str) or not name or "\x00" in name or "/" in name or "\\" in name
            or name in (".", "..") or name.strip() != name):
        raise PathOutsideError(
            f"{source} names the output {name!r}, which is not a plain file-name part: output names must not "
            "contain '/', '\\', NUL or be '.'/'..' (they become part of a file name inside --out). Fix the record."
        )
    return name


def is_pseudo(path: Path) -> bool:
    """Whether a resolved path lies under ``/proc``, ``/sys`` or ``/dev``."""
    return any(path == root or path.is_relative_to(root) for root in PSEUDO_ROOTS)


def check_regular_file(path: str | Path, *, source: str | Path, what: str = "file") -> Path:
    """``path`` resolved, when it is a non-empty regular file outside ``/proc``, ``/sys`` and ``/dev``.

    ``os.stat`` follows links, so a link to a FIFO is caught as a FIFO: reading a
    FIFO blocks forever, a character device (``/dev/zero``) never ends, and
    ``/proc`` files claim sizes they do not have.

    Raises
    ------
    NotARegularFileError
        Naming ``source``, the path and what it is.
    FileNotFoundError
        When nothing is there (the caller words that case).
    """
    p = Path(path).expanduser()
    resolved = p.resolve()
    mode = os.stat(resolved).st_mode  # FileNotFoundError propagates
    kind = ("folder" if stat.S_ISDIR(mode) else "FIFO" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode)
            else "device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else None)
    if kind is None and is_pseudo(resolved):
        kind = "kernel pseudo-file"
    if kind is None and not stat.S_ISREG(mode):
        kind = "special file"
    if kind is None and os.stat(resolved).st_size == 0:
        kind = "empty file"
    if kind is not None:
        raise NotARegularFileError(
            f"{source} names the {what} {str(path)!r}, which is a {kind} ({resolved}), not a regular file: "
            f"refused. Point it at a real {what} file."
        )
    return resolved


__all__ = ["PSEUDO_ROOTS", "NotARegularFileError", "PathOutsideError", "check_output_name", "check_regular_file",
           "is_pseudo", "path_inside"]
