"""YAML from someone else (a dataset's ``data.yaml``) read as plain data: no Python tags, no aliases, bounded size.

``yaml.safe_load`` already refuses ``!!python/...`` tags, but it keeps YAML
aliases: ``a: &a [x, x, x, x, x, x, x, x, x]``, ``b: &b [*a, *a, ...]``... A
580-byte file of nine such levels describes 10**9 strings; PyYAML builds it as
shared references, and the first program that walks it (Ultralytics turns
``names:`` into strings) exhausts memory. A dataset YAML needs no aliases, so
:func:`load_plain_yaml` refuses any alias (and files over
:data:`MAX_YAML_BYTES`) before building anything.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import FastSAMError

#: a dataset YAML is a few kilobytes (1,000 class names is about 20 KB)
MAX_YAML_BYTES = 4 * 1024 * 1024


class PlainYAMLError(FastSAMError, yaml.YAMLError):
    """A YAML file that is not plain data (an alias, a Python tag) or is too big; the message names the file."""


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing every alias while the document is composed (before any object is built)."""

    def compose_node(self, parent, index):  # noqa: D102 - PyYAML's hook
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise PlainYAMLError(
                f"{self.name}: line {event.start_mark.line + 1} uses the YAML alias *{event.anchor}: aliases are "
                "refused in files from others (a few hundred bytes of nested aliases can describe billions of "
                "entries). Write the values out in full."
            )
        return super().compose_node(parent, index)


def load_plain_yaml(path: str | Path, *, max_bytes: int = MAX_YAML_BYTES):
    """The data in a YAML file, read with a safe loader that refuses aliases and Python tags.

    Parameters
    ----------
    path : path
        The YAML file.
    max_bytes : int
        Larger files are refused unread.

    Returns
    -------
    object
        Plain Python data (dicts, lists, strings, numbers, None).

    Raises
    ------
    PlainYAMLError
        An alias, a Python tag or other YAML error, a file over ``max_bytes``, or bytes that are not UTF-8.
    """
    p = Path(path)
    size = p.stat().st_size
    if size > max_bytes:
        raise PlainYAMLError(f"{p} is {size / 2**20:.1f} MiB; a YAML file read here may be at most "
                             f"{max_bytes / 2**20:.0f} MiB.")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PlainYAMLError(f"{p} is not UTF-8 text ({exc.reason}).") from None
    loader = _NoAliasLoader(text)
    loader.name = str(p)  # marks and our message name the file
    try:
        return loader.get_single_data()
    except PlainYAMLError:
        raise
    except yaml.YAMLError as exc:  # python/object tags and syntax errors
        raise PlainYAMLError(f"{p} is not plain YAML ({type(exc).__name__}: {exc}).") from None
    finally:
        loader.dispose()


__all__ = ["MAX_YAML_BYTES", "PlainYAMLError", "load_plain_yaml"]
