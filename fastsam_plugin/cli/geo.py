"""GeoTIFF inputs of ``napari-fastsam segment``: band choice, georeferenced label rasters and vector polygons.

A ``.tif`` that carries a CRS or a map transform (or any TIFF given with
``--bands`` or ``--vector``) is read lazily by windows through
:class:`fastsam_plugin.io.geotiff.GeoRaster`; its outputs keep the input's CRS
and transform:

* ``<out>/<name>_labels.tif``: int32 label GeoTIFF (Cloud-Optimised when large);
* ``--vector out.gpkg`` (or ``.geojson``, or just ``gpkg``/``geojson`` for
  ``<out>/<name>_objects.gpkg``): one polygon per object with id, score, area in
  CRS units and the prompt that selected it;
* prompt selections (``--points``, ``--box`` in pixels, or in the raster's CRS
  with ``--prompt-units map``; ``--text``)
  as ``<name>_<prompt>.tif`` label GeoTIFFs and, with ``--vector``, as
  ``<vector>_<prompt>.gpkg``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..errors import UsageError

TIFF_SUFFIXES = (".tif", ".tiff")
VECTOR_FORMATS = {"gpkg": ".gpkg", "geojson": ".geojson"}


def add_arguments(parser) -> None:
    """``--bands`` and ``--vector`` on the segment command."""
    geo = parser.add_argument_group("GeoTIFF (pip install \"napari-fastsam[geo]\")")
    geo.add_argument("--bands", help="bands shown as red, green, blue, numbered from 1 as in GDAL/QGIS: "
                                     "4,3,2 (Sentinel-2 true colour), 4,1,2 (NIR false colour) or band names")
    geo.add_argument("--vector", metavar="FILE.gpkg|FILE.geojson",
                     help="also write the objects as polygons in the raster's CRS (GeoPackage or GeoJSON); "
                          "'gpkg' or 'geojson' alone writes <out>/<image>_objects.<ext>")
    geo.add_argument("--prompt-units", choices=("pixel", "map"), default="pixel",
                     help="units of --points and --box: pixels, or the raster's CRS (e.g. metres in UTM)")


def wants(path: Path, args) -> bool:
    """Whether ``path`` goes through the GeoTIFF path (georeferenced TIFF, or geo flags given)."""
    geo_flags = bool(getattr(args, "bands", None) or getattr(args, "vector", None)
                     or getattr(args, "prompt_units", "pixel") == "map")
    if path.suffix.lower() not in TIFF_SUFFIXES:
        if geo_flags:
            raise UsageError(f"--bands, --vector and --prompt-units map need a (Geo)TIFF input; "
                             f"{path.name} is not a TIFF.")
        return False
    if geo_flags:
        return True
    try:
        from ..io.geotiff import is_georeferenced

        return is_georeferenced(path)
    except ImportError:  # no rasterio: georeferencing is lost, as before the [geo] extra existed
        return False


def vector_path(args, image: Path, name: str = "objects", base: str | None = None) -> Path:
    """Where ``--vector`` writes the polygons of ``image`` (``name``: objects or a prompt; ``base``: output name)."""
    base = base or image.stem
    spec = str(args.vector)
    if spec.lower() in VECTOR_FORMATS:
        return args.out / f"{base}_{name}{VECTOR_FORMATS[spec.lower()]}"
    p = Path(spec)
    if len(args.inputs) != 1 or not Path(args.inputs[0]).is_file():  # a batch: one file per image
        p = p.with_name(f"{base}_{p.name}")
    return p if name == "objects" else p.with_name(f"{p.stem}_{name}{p.suffix}")


def pixel_prompts(args, transform):
    """``args`` with ``--points``/``--box`` moved from map coordinates to pixels when ``--prompt-units map``."""
    if getattr(args, "prompt_units", "pixel") != "map":
        return args
    inverse = ~transform
    points = [[*inverse * (p[0], p[1]), *p[2:]] for p in args.points or []] or None
    boxes = []
    for x0, y0, x1, y1 in args.box or []:
        (c0, r0), (c1, r1) = inverse * (x0, y0), inverse * (x1, y1)
        boxes.append([min(c0, c1), min(r0, r1), max(c0, c1), max(r0, r1)])  # north-up: y grows upwards
    return argparse.Namespace(**{**vars(args), "points": points, "box": boxes or None})


def _prompts(session, result, args, shown=None):
    """Per prompt kind: the (H, W) int32 selection, id -> prompt text, id -> score, and the objects picked.

    ``args`` holds pixel prompts; the prompt texts quote ``shown`` (the prompts as the user gave them)."""
    shown = shown or args
    labels: dict[str, np.ndarray] = {}
    prompts: dict[str, dict[int, str]] = {}
    picks: dict[str, np.ndarray] = {}
    if args.points:
        pts = np.array([p[:2] for p in args.points])
        lab = np.array([int(p[2]) if len(p) == 3 else 1 for p in args.points])
        labels["points"] = session.select_points(result, pts, lab, smooth=args.smooth).astype(np.int32)
        prompts["points"] = {1: "points " + "; ".join(",".join(f"{v:.12g}" for v in p) for p in shown.points)}
    if args.box:  # one id per box, in the order given
        picks["box"] = session.select_boxes(result, np.array(args.box))
        labels["box"] = session.selection_labels(result, picks["box"], smooth=args.smooth)
        prompts["box"] = {k: f"box {k}: " + ",".join(f"{v:.12g}" for v in b) for k, b in enumerate(shown.box, 1)}
    if args.text:  # id 1 = best match
        picks["text"] = session.select_text(result, args.text, top_k=args.top_k).indices[0]
        labels["text"] = session.selection_labels(result, picks["text"], first_on_top=True)
        prompts["text"] = {k: f"text {args.text!r} #{k}" for k in range(1, len(picks["text"]) + 1)}
    scores = {name: {k: float(result.scores[i]) for k, i in enumerate(idx, 1) if i >= 0} for name, idx in picks.items()}
    return labels, prompts, scores, picks


def segment_one(session, path: Path, args, base: str | None = None, outcome=None) -> list[Path]:
    """Segment one GeoTIFF by windows and write its georeferenced outputs that are missing.

    Existing outputs are kept unless ``args.overwrite``; ``outcome`` (a
    :class:`fastsam_plugin.cli.batch.FileOutcome`, optional) collects what was
    written and kept. Returns the files written.
    """
    from ..io import result_to_coco, write_json
    from ..io.geotiff import band_count, open_geotiff, write_label_raster
    from ..io.vectors import write_vectors

    stem = args.out / (base or path.stem)
    kinds = [k for k in ("points", "box", "text") if getattr(args, k, None)]
    targets = {"labels": Path(f"{stem}_labels.tif"), **{k: Path(f"{stem}_{k}.tif") for k in kinds}}
    if args.coco:
        targets["proposals"] = Path(f"{stem}_proposals.json")
    if args.vector:
        targets["vector"] = vector_path(args, path, base=base)
        targets.update({f"vector_{k}": vector_path(args, path, k, base) for k in kinds})
    todo = {k: p for k, p in targets.items() if args.overwrite or not p.exists()}
    if outcome is not None:
        outcome.kept += [p for k, p in targets.items() if k not in todo]
        if not todo:
            outcome.notes.append(f"{path.name}: all {len(targets)} output(s) already complete, kept")
    if not todo:
        return []
    bands = args.bands or (tuple(c + 1 for c in args.channels) if getattr(args, "channels", None) else None)
    if bands is None and (model_bands := session.model_bands):
        count = band_count(path)
        if count > 3 and max(model_bands) <= count:  # a raw multi-band tile: the bands the model learnt
            bands = model_bands
    # opened once, in its final bands: the stretch of non-8-bit data samples the whole raster
    raster = open_geotiff(path, bands=bands, percentiles=args.percentiles)
    result = session.segment(raster)
    labels, prompts, scores, picks = _prompts(session, result, pixel_prompts(args, raster.transform), args)
    ow = args.overwrite
    written = []
    if "labels" in todo:
        written.append(write_label_raster(todo["labels"], result, raster, overwrite=ow))
    if "vector" in todo:
        # an object picked by a box or text prompt says so in the everything-mode layer too
        picked: dict[int, list[str]] = {}
        for name, idx in picks.items():
            for k, i in enumerate(idx, 1):
                if i >= 0:
                    picked.setdefault(int(i) + 1, []).append(prompts[name][k])
        written.append(write_vectors(todo["vector"], result, raster, overwrite=ow,
                                     prompts={i: "; ".join(p) for i, p in picked.items()}))
    if "proposals" in todo:
        written.append(write_json(todo["proposals"], result_to_coco(result, file_name=path.name), overwrite=ow))
    for name, lab in labels.items():
        if name in todo:
            written.append(write_label_raster(todo[name], lab, raster, overwrite=ow))
        if f"vector_{name}" in todo:
            written.append(write_vectors(todo[f"vector_{name}"], lab, raster, prompts=prompts.get(name),
                                         scores=scores.get(name), overwrite=ow))
    if outcome is not None:
        outcome.written += written
    return written
