"""The batch loop of ``napari-fastsam segment``: inputs, output names, reruns and an honest report.

Rules (documented in ``docs/cli.md``):

* **Inputs** are the files given and the image files in the folders given.
  Files this project wrote (TIFFs tagged ``napari-fastsam``, hidden temporary
  files, and ``<name>_labels.tif``-style outputs next to their input in the
  output folder) are never inputs, so ``--out`` may be the input folder.
* **Names** are ``<base>_<kind>.<ext>`` where ``base`` is the input's stem;
  when two inputs share a stem (``a.png`` and ``a.tif``) the extension is
  kept (``a.png``, ``a.tif``); when two share a whole name (folders ``x/a.tif``
  and ``y/a.tif``) the folder name is prefixed (``x_a.tif``). No two inputs of
  one run ever share an output.
* **Reruns** complete what is missing: each planned output of each input is
  checked on its own; complete ones are kept (``--overwrite`` replaces them),
  missing or truncated ones are (re)written. An input whose outputs are all
  complete is not segmented again.
* **Failures** of one input (unreadable file, permissions, a prompt that does
  not fit the image, out of memory) are reported by file name and the batch
  goes on. Exit status: 0 when every planned output exists, 1 when anything
  failed, 2 for usage errors, 3 for an internal error (traceback in a log
  file whose path is printed), 130 when interrupted.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import FastSAMError, UsageError, describe_unexpected, log_unexpected
from ..io import IMAGE_SUFFIXES, is_own_output, output_complete
from ..io.outputs import TEMP_PREFIX

#: suffix of each output kind (``<base><suffix>``)
OUTPUT_SUFFIXES = {
    "labels": "_labels.tif",
    "proposals": "_proposals.json",
    "edges": "_edges.tif",
    "points": "_points.tif",
    "box": "_box.tif",
    "text": "_text.tif",
    "measurements": "_measurements.csv",
}

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def check_output_folder(out: Path) -> None:
    """Refuse, before any work, an ``--out`` that is a file or cannot be written (a usage error naming the flag)."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"argument --out: {out} is a file, not a folder; choose a folder for the outputs.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"argument --out: cannot create the folder {out} ({exc.strerror}).") from None
    probe = out / f"{TEMP_PREFIX}probe-{os.getpid()}"
    try:
        probe.write_bytes(b"")
    except OSError as exc:
        raise UsageError(f"argument --out: cannot write into {out} ({exc.strerror}); choose another folder.") from None
    finally:
        probe.unlink(missing_ok=True)


def _is_output_of(candidate: Path, stems: set[str]) -> bool:
    """``candidate`` is named like an output of one of ``stems`` (``<stem>_<kind>.<ext>``)."""
    name = candidate.name
    return any(name.endswith(suffix) and name[: -len(suffix)] in stems for suffix in OUTPUT_SUFFIXES.values())


def collect_inputs(items: Iterable[str | Path], out: Path, *, keep_dir: Callable[[Path], bool] | None = None
                   ) -> tuple[list[Path], list[Path]]:
    """Input files from files and folders; our own outputs are left out.

    Parameters
    ----------
    items : paths given on the command line
    out : the output folder
    keep_dir : callable, optional
        Folders for which it returns True are one input (e.g. a ``.zarr`` store), not scanned.

    Returns
    -------
    inputs, left_out : list of Path
        ``left_out`` are files that were this project's outputs.
    """
    found: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir() and not (keep_dir and keep_dir(p)):
            found += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            found.append(p)
    out_dir = out.resolve() if out.exists() else out.absolute()
    stems = {f.stem for f in found} | {f.name for f in found}
    inputs, left_out = [], []
    for f in found:
        ours = f.name.startswith(TEMP_PREFIX) or (f.is_file() and is_own_output(f))
        ours = ours or (f.parent.resolve() == out_dir and _is_output_of(f, stems - {f.stem, f.name}))
        (left_out if ours else inputs).append(f)
    return inputs, left_out


def output_bases(files: list[Path]) -> dict[Path, str]:
    """A base name per input such that no two inputs share one (case-insensitively).

    The stem when unique; else the file name with its extension; else the
    parent folder's name and the file name; else a numbered suffix.
    """
    def key(text: str) -> str:
        return text.casefold()

    stems = Counter(key(f.stem) for f in files)
    names = Counter(key(f.name) for f in files)
    bases = {}
    for f in files:
        if stems[key(f.stem)] == 1:
            bases[f] = f.stem
        elif names[key(f.name)] == 1:
            bases[f] = f.name
        else:
            bases[f] = f"{f.parent.name}_{f.name}"
    seen: Counter[str] = Counter()
    for f in files:  # last resort: identical folder and file names from different places
        seen[key(bases[f])] += 1
        if seen[key(bases[f])] > 1:
            bases[f] = f"{bases[f]}-{seen[key(bases[f])]}"
    return bases


@dataclass
class FileOutcome:
    """What happened to one input."""

    path: Path
    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # one message per failed output or for the whole file
    notes: list[str] = field(default_factory=list)


@dataclass
class BatchReport:
    """Counts for the final summary and the exit status."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    left_out: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.failed]

    def exit_code(self) -> int:
        return EXIT_FAILED if self.failed else EXIT_OK

    def summary(self, out: Path) -> str:
        n = len(self.outcomes)
        written = sum(len(o.written) for o in self.outcomes)
        kept = sum(len(o.kept) for o in self.outcomes)
        complete = n - len(self.failed)
        lines = [f"{complete} of {n} input(s) complete; {written} output(s) written, {kept} already complete "
                 f"and kept, {len(self.failed)} input(s) failed; outputs in {out}"]
        if self.left_out:
            lines.append(f"left out {len(self.left_out)} file(s) that napari-fastsam wrote itself "
                         f"(e.g. {self.left_out[0].name})")
        for o in self.failed:
            lines.append(f"FAILED {o.path}: " + "; ".join(o.failed))
        if self.failed:
            lines.append("rerun the same command to retry the failed outputs; complete ones are kept")
        return "\n".join(lines)


def plan(base: Path, kinds: Iterable[str], overwrite: bool) -> tuple[dict[str, Path], dict[str, Path]]:
    """Split the planned outputs into those to write and those already complete (kept).

    A missing or truncated output is (re)written; with ``overwrite`` every output is.
    """
    todo, kept = {}, {}
    for kind in kinds:
        path = base.parent / f"{base.name}{OUTPUT_SUFFIXES[kind]}"
        if not overwrite and path.exists() and output_complete(path):
            kept[kind] = path
        else:
            todo[kind] = path
    return todo, kept


def describe_failure(exc: BaseException, path: Path) -> str:
    """One line for a failed input or output; unexpected errors get their traceback logged."""
    if isinstance(exc, FastSAMError):
        return str(exc)
    if isinstance(exc, OSError):  # permissions, a folder in the way, disk full: the OS said why
        where = exc.filename or path
        return f"{exc.strerror or type(exc).__name__} ({where})"
    if isinstance(exc, MemoryError):
        return "out of memory; try --tile on with a smaller --tile-size, or fewer --max-det"
    return describe_unexpected(exc, log_unexpected(exc, f"napari-fastsam segment: {path}"))


def overwrites_existing(todo: dict[str, Path]) -> list[Path]:
    """Files about to be replaced (incomplete ones, or all with ``--overwrite``)."""
    return [p for p in todo.values() if p.exists()]
