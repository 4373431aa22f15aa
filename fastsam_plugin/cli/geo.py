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

import dataclasses
from pathlib import Path

import numpy as np

from ..errors import UsageError
from ..io import pixel_size
from .job import VECTOR_FORMATS, scale_note, selection

TIFF_SUFFIXES = (".tif", ".tiff")


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


def vector_path(job, image: Path, name: str = "objects", base: str | None = None) -> Path:
    """Where ``--vector`` writes the polygons of ``image`` (``name``: objects or a prompt; ``base``: output name).

    ``job`` is a :class:`fastsam_plugin.cli.job.SegmentJob`.
    """
    base = base or image.stem
    spec = str(job.vector)
    if spec.lower() in VECTOR_FORMATS:
        return job.out / f"{base}_{name}{VECTOR_FORMATS[spec.lower()]}"
    p = Path(spec)
    if not job.single_input:  # a batch: one file per image
        p = p.with_name(f"{base}_{p.name}")
    return p if name == "objects" else p.with_name(f"{p.stem}_{name}{p.suffix}")


def pixel_prompts(job, transform):
    """``job`` with ``--points``/``--box`` moved from map coordinates to pixels when ``--prompt-units map``."""
    if job.prompt_units != "map":
        return job
    inverse = ~transform
    points = tuple((*inverse * (p[0], p[1]), *p[2:]) for p in job.points or ()) or None
    boxes = []
    for x0, y0, x1, y1 in job.box or ():
        (c0, r0), (c1, r1) = inverse * (x0, y0), inverse * (x1, y1)
        boxes.append((min(c0, c1), min(r0, r1), max(c0, c1), max(r0, r1)))  # north-up: y grows upwards
    return dataclasses.replace(job, points=points, box=tuple(boxes) or None)


def _prompts(session, result, job, shown, notes: list[str], name: str):
    """Per prompt kind: the (H, W) int32 selection, id -> prompt text, id -> score, and the objects picked.

    ``job`` holds pixel prompts; the prompt texts quote ``shown`` (the prompts as the user gave them).
    """
    labels: dict[str, np.ndarray] = {}
    prompts: dict[str, dict[int, str]] = {}
    picks: dict[str, np.ndarray] = {}
    if job.points:
        labels["points"] = selection(session, result, job, "points", notes, name)
        prompts["points"] = {1: "points " + "; ".join(",".join(f"{v:.12g}" for v in p) for p in shown.points)}
    if job.box:  # one id per box, in the order given
        picks["box"] = session.select_boxes(result, np.array(job.box))
        labels["box"] = session.selection_labels(result, picks["box"], smooth=job.smooth)
        prompts["box"] = {k: f"box {k}: " + ",".join(f"{v:.12g}" for v in b) for k, b in enumerate(shown.box, 1)}
    if job.text:  # id 1 = best match
        picks["text"] = session.select_text(result, job.text, top_k=job.top_k).indices[0]
        labels["text"] = session.selection_labels(result, picks["text"], first_on_top=True)
        prompts["text"] = {k: f"text {job.text!r} #{k}" for k in range(1, len(picks["text"]) + 1)}
    scores = {name: {k: float(result.scores[i]) for k, i in enumerate(idx, 1) if i >= 0} for name, idx in picks.items()}
    return labels, prompts, scores, picks


def segment_one(session, path: Path, job, write) -> None:
    """Segment one GeoTIFF by windows and write the georeferenced outputs that ``write`` asks for.

    Parameters
    ----------
    session : fastsam_plugin.engine.session.Session
    path : Path
    job : fastsam_plugin.cli.job.SegmentJob
    write : fastsam_plugin.cli.job.Writer
        Knows which outputs are missing (planned by :func:`fastsam_plugin.cli.job.output_paths`)
        and records each one written.
    """
    from ..io import result_to_coco, write_json
    from ..io.geotiff import band_count, open_geotiff, write_label_raster
    from ..io.vectors import write_vectors

    bands = job.bands or (tuple(c + 1 for c in job.channels) if job.channels else None)
    if bands is None and (model_bands := session.model_bands):
        count = band_count(path)
        if count > 3 and max(model_bands) <= count:  # a raw multi-band tile: the bands the model learnt
            bands = model_bands
    # opened once, in its final bands: the stretch of non-8-bit data samples the whole raster
    raster = open_geotiff(path, bands=bands, percentiles=job.percentiles)
    size = pixel_size.of_geotiff(raster) or (None, None)  # the scale rule: 0.6 m pixels for NAIP
    result = session.segment(raster, pixel_size=size[0], unit=size[1])
    scale_note(result, size, path.name, write.outcome.notes)
    labels, prompts, scores, picks = _prompts(session, result, pixel_prompts(job, raster.transform), job,
                                              write.outcome.notes, path.name)
    # GDAL writes in place: each file is entered in the manifest once its writer returned
    write("labels", lambda p, ow: write_label_raster(p, result, raster, overwrite=ow), records_itself=False)
    if write.wants("vector"):
        # an object picked by a box or text prompt says so in the everything-mode layer too
        picked: dict[int, list[str]] = {}
        for name, idx in picks.items():
            for k, i in enumerate(idx, 1):
                if i >= 0:
                    picked.setdefault(int(i) + 1, []).append(prompts[name][k])
        write("vector", lambda p, ow: write_vectors(p, result, raster, overwrite=ow,
                                                    prompts={i: "; ".join(t) for i, t in picked.items()}),
              records_itself=False)
    write("proposals", lambda p, ow: write_json(p, result_to_coco(result, file_name=path.name), overwrite=ow))
    for name, lab in labels.items():
        write(name, lambda p, ow, lab=lab: write_label_raster(p, lab, raster, overwrite=ow), records_itself=False)
        write(f"vector_{name}", lambda p, ow, lab=lab, name=name: write_vectors(
            p, lab, raster, prompts=prompts.get(name), scores=scores.get(name), overwrite=ow), records_itself=False)
