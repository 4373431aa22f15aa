"""The batch loop of ``napari-fastsam segment``: inputs, output names, and an honest report.

Rules (documented in ``docs/cli.md``):

* **Inputs** are the files given and the image files in the folders given,
  each once (a file named twice, or as a file and through its folder, is
  segmented once, and the run says so). A path that does not exist is a usage
  error (exit 2, before any model loads); a folder that cannot be read is
  reported by name and the other inputs go on (exit 1).
  Files this project wrote (TIFFs tagged ``napari-fastsam``, hidden
  ``.napari-fastsam-*`` files, and ``<name>_labels.tif``-style outputs next to
  their input in the output folder) are never inputs, so ``--out`` may be the
  input folder.
* **Names** are ``<base>_<kind>.<ext>`` where ``base`` is the input's stem;
  when two inputs share a stem (``a.png`` and ``a.tif``) the extension is
  kept (``a.png``, ``a.tif``); when two share a whole name (folders ``x/a.tif``
  and ``y/a.tif``) the folder name is prefixed (``x_a.tif``). No two inputs of
  one run ever share an output. Which outputs an input has is decided by one
  rule, :func:`fastsam_plugin.cli.perfile.output_paths`.
* **Reruns** complete what is missing: each planned output is checked on its
  own and kept only when known whole (the manifest, see
  :func:`fastsam_plugin.io.outputs.output_complete`); others are (re)written.
* **Failures** of one input (unreadable file, permissions, a prompt that does
  not fit the image, out of memory) are reported by file name and the batch
  goes on. Exit status: 0 when every planned output exists, 1 when anything
  failed, 2 for usage errors, 3 for an internal error (traceback in a log
  file whose path is printed), 130 when interrupted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import FastSAMError, UsageError, describe_unexpected, log_unexpected
from ..io import IMAGE_SUFFIXES, is_own_output
from ..io.outputs import TEMP_PREFIX, temp_name

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
    probe = out / temp_name("probe")
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


@dataclass
class Inputs:
    """The inputs of a run, and what was left out of them and why.

    Attributes
    ----------
    files : list of Path
        Each input once, in the order given (folders: sorted by name).
    left_out : list of Path
        Files this project wrote (never inputs).
    duplicates : dict of Path to int
        Inputs named more than once (by resolved path): how many times.
    missing : list of Path
        Paths given that do not exist.
    unreadable : dict of Path to str
        Folders that could not be listed, with the reason.
    """

    files: list[Path] = field(default_factory=list)
    left_out: list[Path] = field(default_factory=list)
    duplicates: dict[Path, int] = field(default_factory=dict)
    missing: list[Path] = field(default_factory=list)
    unreadable: dict[Path, str] = field(default_factory=dict)

    def notes(self) -> list[str]:
        """One line per duplicate and per unreadable folder."""
        lines = [f"{p} was given {n} times; segmented once" for p, n in self.duplicates.items()]
        lines += [f"cannot read the folder {p} ({why}); its images are not segmented"
                  for p, why in self.unreadable.items()]
        return lines

    def raise_for_unusable(self, *, all_of_them: bool = True) -> None:
        """Raise a usage error for inputs that do not exist, and for unreadable folders.

        With ``all_of_them``, unreadable folders only when nothing else is left to segment
        (a run with other inputs reports them and goes on).
        """
        if self.missing:
            raise UsageError("no such file or folder: " + ", ".join(map(str, self.missing))
                             + "; check the input path(s).")
        if self.unreadable and (not all_of_them or not self.files):
            raise UsageError("; ".join(f"cannot read the folder {p} ({why})" for p, why in self.unreadable.items())
                             + "; check its permissions.")


def gather_inputs(items: Iterable[str | Path], out: Path, *, keep_dir: Callable[[Path], bool] | None = None) -> Inputs:
    """Input files from files and folders: each once; our own outputs, missing paths and unreadable folders apart.

    Parameters
    ----------
    items : paths given on the command line
    out : the output folder
    keep_dir : callable, optional
        Folders for which it returns True are one input (e.g. a ``.zarr`` store), not scanned.
    """
    result = Inputs()
    found: list[Path] = []
    for item in items:
        p = Path(item)
        if not p.exists():
            result.missing.append(p)
        elif p.is_dir() and not (keep_dir and keep_dir(p)):
            try:
                found += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            except OSError as exc:  # no permission to list it: say so; the other inputs go on
                result.unreadable[p] = exc.strerror or type(exc).__name__
        else:
            found.append(p)
    seen: dict[Path, Path] = {}
    counts: Counter[Path] = Counter()
    for f in found:  # the same file named twice (or as a file and through its folder) is one input
        key = f.resolve()
        counts[key] += 1
        seen.setdefault(key, f)
    result.duplicates = {seen[k]: n for k, n in counts.items() if n > 1}
    unique = list(seen.values())
    out_dir = out.resolve() if out.exists() else out.absolute()
    stems = {f.stem for f in unique} | {f.name for f in unique}
    for f in unique:
        ours = f.name.startswith(TEMP_PREFIX) or (f.is_file() and is_own_output(f))
        ours = ours or (f.parent.resolve() == out_dir and _is_output_of(f, stems - {f.stem, f.name}))
        (result.left_out if ours else result.files).append(f)
    return result


def collect_inputs(items: Iterable[str | Path], out: Path, *, keep_dir: Callable[[Path], bool] | None = None
                   ) -> tuple[list[Path], list[Path]]:
    """Input files (each once) and the files left out as this project's outputs (see :func:`gather_inputs`).

    Raises
    ------
    UsageError
        A path given does not exist, or a folder given cannot be read.
    """
    found = gather_inputs(items, out, keep_dir=keep_dir)
    found.raise_for_unusable(all_of_them=False)
    return found.files, found.left_out


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
    unreadable: dict[Path, str] = field(default_factory=dict)  # input folders that could not be listed

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.failed]

    def exit_code(self) -> int:
        return EXIT_FAILED if self.failed or self.unreadable else EXIT_OK

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
        for folder, why in self.unreadable.items():
            lines.append(f"FAILED {folder}: cannot read the folder ({why}); check its permissions")
        if self.failed or self.unreadable:
            lines.append("rerun the same command to retry the failed outputs; complete ones are kept")
        return "\n".join(lines)


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
