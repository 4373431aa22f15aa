"""Files from someone else never reach outside what the user named (issue #28: paths, rasters, limits).

Each route is tried as an attacker would: a record whose output climbs out of
``--out``, record weights naming a FIFO or a ``/proc`` file, COCO file names
that climb out of ``--images``, a ``.tif`` that is a GDAL VRT reading a local
file or a URL, small files declaring huge images, a YAML alias bomb. Each must
be refused with an error naming the file, and nothing outside the named
folders may be read or written (marker files, spies and a local HTTP server
show it).
"""

from __future__ import annotations

import http.server
import json
import os
import struct
import threading
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st

from fastsam_plugin.cli import main
from fastsam_plugin.engine.model import EverythingParams
from fastsam_plugin.engine.provenance import ObjectPrompt, PromptRecord, RecordError
from fastsam_plugin.io.coco import (
    CocoFileError,
    _string_counts,
    check_coco,
    check_rle,
    decode_rle,
    encode_rle,
    labels_to_coco,
)
from fastsam_plugin.io.images import read_image
from fastsam_plugin.io.limits import ENV_MAX_PIXELS, ImageTooLargeError, add_max_pixels_argument, max_pixels
from fastsam_plugin.io.ome import read_tiff
from fastsam_plugin.io.paths import PathOutsideError, path_inside
from fastsam_plugin.io.plain_yaml import PlainYAMLError, load_plain_yaml
from fastsam_plugin.io.records import read_records, write_record

# -- helpers ---------------------------------------------------------------------------------------------------------


def _files_under(folder) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _record(tmp_path, name="r.json", **changes) -> object:
    objects = changes.pop("objects", [ObjectPrompt(1, "box", "box", box=[0, 0, 32, 32])])
    record = PromptRecord(weights=changes.pop("weights", "demo"), weights_sha256=None,
                          params=EverythingParams(416, 0.25), objects=objects, **changes)
    data = record.to_dict()
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def _small_png(path, hw=(64, 64)):
    img = np.zeros((*hw, 3), np.uint8)
    img[10:30, 10:40] = 200
    cv2.imwrite(str(path), img)
    return path


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width x height`` RGB pixels (the data that follows is a few bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def _tiff_declaring(path, hw: tuple[int, int]) -> None:
    """A tiny deflated TIFF whose header is rewritten to declare ``hw`` pixels in one strip."""
    tifffile.imwrite(path, np.zeros((64, 64), np.uint8), compression="zlib", metadata=None)
    with tifffile.TiffFile(path, mode="r+b") as tif:
        tags = tif.pages[0].tags
        tags["ImageLength"].overwrite(hw[0])
        tags["ImageWidth"].overwrite(hw[1])
        tags["RowsPerStrip"].overwrite(hw[0])


# -- paths: the helper itself ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../secret/a.png", "a/../../x.png", "/etc/passwd", "", "a\x00b"])
def test_names_leading_out_of_the_folder_are_refused(tmp_path, name):
    (tmp_path / "in").mkdir()
    with pytest.raises(PathOutsideError) as err:
        path_inside(tmp_path / "in", name, source="ann.json", what="image")
    assert "ann.json" in str(err.value)


def test_a_link_inside_the_folder_that_points_out_is_refused(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (tmp_path / "secret.png").write_bytes(b"x")
    (folder / "a.png").symlink_to(tmp_path / "secret.png")
    (folder / "sub").mkdir()
    (folder / "b.png").symlink_to(folder / "sub")  # a link that stays inside is fine
    with pytest.raises(PathOutsideError, match="lies outside"):
        path_inside(folder, "a.png", source="ann.json")
    assert path_inside(folder, "b.png", source="x") == (folder / "sub").resolve()
    assert path_inside(folder, "sub/../c.png", source="x") == folder.resolve() / "c.png"


# -- replay records ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["/../../../escaped", "../../escaped", "..", "a/b", "a\\..\\b"])
def test_replay_refuses_a_record_whose_output_climbs_out(tmp_path, capsys, output):
    images = tmp_path / "images"
    images.mkdir()
    _small_png(images / "s0.png")
    record = _record(tmp_path, objects=[ObjectPrompt(1, "box", output, box=[0, 0, 32, 32])])
    out = tmp_path / "deep" / "er" / "out"
    before = _files_under(tmp_path)
    assert main(["replay", str(record), str(images), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert repr(output) in err and str(record) in err and "plain file-name part" in err
    assert _files_under(tmp_path) == before  # nothing written anywhere, --out not even created
    with pytest.raises(RecordError):
        read_records(record)


def test_replay_writes_nothing_through_a_link_in_out(tmp_path, capsys):
    """An output file name that is a symlink to a file outside --out is not followed, even with --overwrite."""
    images = tmp_path / "images"
    images.mkdir()
    _small_png(images / "s0.png", (96, 96))
    victim = tmp_path / "victim.tif"
    victim.write_bytes(b"keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / "s0_box.tif").symlink_to(victim)
    record = _record(tmp_path, objects=[ObjectPrompt(1, "box", "box", box=[5, 5, 60, 60])])
    assert main(["replay", str(record), str(images), "--out", str(out), "--overwrite", "--device", "cpu"]) == 1
    assert victim.read_bytes() == b"keep me"
    assert "lies outside" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["proc", "fifo", "device", "folder", "empty"])
def test_record_weights_must_be_a_name_or_a_regular_file(tmp_path, kind):
    target = {"proc": "/proc/self/environ", "device": "/dev/zero", "fifo": str(tmp_path / "fifo"),
              "folder": str(tmp_path), "empty": str(tmp_path / "empty.pt")}[kind]
    if kind == "fifo":
        os.mkfifo(target)
    if kind == "empty":
        open(target, "wb").close()
    record = _record(tmp_path, weights=target)
    start = time.monotonic()
    with pytest.raises(RecordError) as err:
        read_records(record)
    assert time.monotonic() - start < 5  # refused from stat alone: nothing is read or hashed
    assert target in str(err.value) and "not a regular file" in str(err.value)
    # the same for a local CLIP checkpoint named by the record
    clip = _record(tmp_path, "clip.json", clip_pretrained=target)
    with pytest.raises(RecordError, match="CLIP weights"):
        read_records(clip)


def test_record_weights_proc_file_is_refused_by_replay_quickly(tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    _small_png(images / "s0.png")
    record = _record(tmp_path, weights="/proc/self/environ")
    start = time.monotonic()
    assert main(["replay", str(record), str(images), "--out", str(tmp_path / "out")]) == 2
    assert time.monotonic() - start < 10
    assert "kernel pseudo-file" in capsys.readouterr().err


def test_record_weights_names_and_regular_files_pass(tmp_path):
    checkpoint = tmp_path / "mine.pt"
    checkpoint.write_bytes(b"PK\x03\x04 not really, but a regular file")
    for weights in ("demo", "demo-nuclei", "FastSAM-s", "fastsam-x.pt", str(checkpoint), str(tmp_path / "gone.pt")):
        write_record(tmp_path / "ok.json", PromptRecord(weights, None, EverythingParams()), overwrite=True)
        assert read_records(tmp_path / "ok.json")[0].weights == weights


def test_replay_weights_flag_overrides_the_record(tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    _small_png(images / "s0.png", (96, 96))
    record = _record(tmp_path, weights=str(tmp_path / "on-another-machine.pt"),
                     objects=[ObjectPrompt(1, "box", "box", box=[5, 5, 60, 60])])
    assert main(["replay", str(record), str(images), "--out", str(tmp_path / "out"), "--weights", "demo",
                 "--device", "cpu"]) == 0
    assert (tmp_path / "out" / "s0_box.tif").is_file()


# -- eval --gt: COCO files ---------------------------------------------------------------------------------------------


def _coco_with(file_name: str, hw=(64, 64)) -> dict:
    labels = np.zeros(hw, np.int32)
    labels[10:30, 10:40] = 1
    coco = labels_to_coco(labels, file_name=file_name)
    return coco


@pytest.fixture
def secret_layout(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    (tmp_path / "secret").mkdir()
    _small_png(tmp_path / "secret" / "a.png")
    _small_png(images / "ok.png")
    return images, tmp_path / "secret" / "a.png"


@pytest.mark.parametrize("how", ["climbs", "absolute", "link"])
def test_eval_never_reads_an_image_outside_images(tmp_path, secret_layout, monkeypatch, how):
    from fastsam_plugin.evaluation import runner

    images, secret = secret_layout
    name = {"climbs": "../secret/a.png", "absolute": str(secret), "link": "link.png"}[how]
    if how == "link":
        (images / "link.png").symlink_to(secret)
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(_coco_with(name)))
    opened = []
    monkeypatch.setattr(runner, "read_image", lambda p: opened.append(p))
    monkeypatch.setattr(runner, "image_hw", lambda p: opened.append(p))
    with pytest.raises(PathOutsideError) as err:
        runner.evaluate_coco(None, gt, images)
    assert name in str(err.value) and str(gt) in str(err.value) and "image folder" in str(err.value)
    assert opened == []
    # the CLI route (scoring saved predictions, no model) says the same and exits 2
    preds = tmp_path / "preds.json"
    preds.write_text("[]")
    assert main(["eval", "--gt", str(gt), "--images", str(images), "--predictions", str(preds)]) == 2
    assert opened == []


def test_eval_refuses_a_declared_size_beyond_the_limit_before_pycocotools(tmp_path, monkeypatch):
    """The 506-byte file declaring 60,000 x 60,000 that crashed pycocotools."""
    from fastsam_plugin.evaluation import coco as evaluation_coco
    from fastsam_plugin.evaluation import runner

    coco = {"images": [{"id": 1, "file_name": "ok.png", "height": 60000, "width": 60000}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 4,
                             "bbox": [0, 0, 2, 2], "segmentation": [[0, 0, 60000, 0, 60000, 60000]]}],
            "categories": [{"id": 1, "name": "object"}]}
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(coco))
    assert gt.stat().st_size < 600
    called = []
    monkeypatch.setattr(evaluation_coco, "_coco", lambda *a: called.append(a))
    with pytest.raises(ImageTooLargeError, match="60000 x 60000"):
        runner.evaluate_coco(None, gt, tmp_path, predictions=None)
    assert called == []


def test_eval_refuses_a_size_that_is_not_the_real_image(tmp_path, secret_layout):
    from fastsam_plugin.evaluation import runner

    images, _ = secret_layout
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(_coco_with("ok.png", hw=(128, 64))))  # the image is 64 x 64
    preds = tmp_path / "preds.json"
    preds.write_text("[]")
    with pytest.raises(CocoFileError, match="128 x 64 pixels, but the image is 64 x 64"):
        runner.evaluate_coco(None, gt, images, predictions=preds)


def test_eval_scores_a_well_formed_file(tmp_path, secret_layout):
    from fastsam_plugin.evaluation import runner

    images, _ = secret_layout
    coco = _coco_with("ok.png")
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(coco))
    preds = [dict(a, score=0.9) for a in coco["annotations"]]
    (tmp_path / "preds.json").write_text(json.dumps(preds))
    scores = runner.evaluate_coco(None, gt, images, predictions=tmp_path / "preds.json")
    assert scores["mask AR@100"] == pytest.approx(1.0)


def test_rle_whose_runs_overrun_the_mask_is_refused(tmp_path):
    mask = np.zeros((20, 30), bool)
    mask[2:9, 3:12] = True
    rle = encode_rle(mask)
    check_rle(rle, (20, 30), "x")  # the real one passes
    longer = {"size": [20, 30], "counts": [0, 600 + 10_000]}
    with pytest.raises(CocoFileError, match="runs cover 10600 pixels"):
        decode_rle(longer)
    with pytest.raises(CocoFileError, match="is 20 x 30 but its image is 40 x 30"):
        check_rle(rle, (40, 30), "x")
    with pytest.raises(CocoFileError, match="never uses"):
        check_rle({"size": [20, 30], "counts": "\x01\x02"}, (20, 30), "x")
    coco = _coco_with("ok.png")
    coco["annotations"][0]["segmentation"] = longer | {"size": [64, 64]}
    with pytest.raises(CocoFileError, match="annotation 0"):
        check_coco(coco, "gt.json")


def test_polygons_far_outside_the_image_are_refused():
    coco = _coco_with("ok.png")
    coco["annotations"][0]["segmentation"] = [[0, 0, 1e9, 0, 1e9, 1e9]]
    with pytest.raises(CocoFileError, match="far outside"):
        check_coco(coco, "gt.json")
    coco["annotations"][0]["segmentation"] = [[0, 0, float("nan"), 0, 5, 5]]
    with pytest.raises(CocoFileError, match="not finite"):
        check_coco(coco, "gt.json")


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**31 - 1))
def test_rle_string_counts_match_the_mask_runs(h, w, seed):
    mask = np.random.default_rng(seed).random((h, w)) < 0.4
    flat = mask.ravel(order="F").astype(np.int8)
    # COCO runs: first a run of zeros (maybe empty), then alternating
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    runs = np.diff(np.concatenate([[0], edges])).tolist()
    counts = _string_counts(encode_rle(mask)["counts"], "x")
    assert counts == runs[: len(counts)] and sum(counts) == h * w
    assert np.array_equal(decode_rle(encode_rle(mask)), mask)


# -- datasets: COCO / SA-1B conversion ------------------------------------------------------------------------------------


def test_sa1b_rle_that_does_not_fit_its_image_is_refused(tmp_path):
    from fastsam_plugin.training.convert import read_sa1b

    _small_png(tmp_path / "a.jpg.png")
    cv2.imwrite(str(tmp_path / "a.jpg"), np.zeros((32, 32, 3), np.uint8))
    ann = {"image": {"file_name": "a.jpg", "height": 32, "width": 32},
           "annotations": [{"segmentation": {"size": [32, 32], "counts": [0, 5000]}}]}
    (tmp_path / "a.json").write_text(json.dumps(ann))
    with pytest.raises(CocoFileError, match="a.json \\(annotation 0\\)"):
        list(read_sa1b(tmp_path))


def test_coco_conversion_refuses_a_link_out_and_a_wrong_size(tmp_path):
    from fastsam_plugin.training.convert import DatasetPathError, read_coco

    images = tmp_path / "images"
    images.mkdir()
    _small_png(tmp_path / "secret.png")
    (images / "a.png").symlink_to(tmp_path / "secret.png")
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(_coco_with("a.png")))
    with pytest.raises(DatasetPathError, match="outside the image folder"):
        list(read_coco(ann, images))
    _small_png(images / "b.png", (32, 32))
    ann.write_text(json.dumps(_coco_with("b.png")))  # declares 64 x 64
    with pytest.raises(CocoFileError, match="but the image is 32 x 32"):
        list(read_coco(ann, images))


# -- image size limits -----------------------------------------------------------------------------------------------


def test_a_small_tiff_declaring_a_huge_image_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.tif"
    _tiff_declaring(path, (20000, 20000))
    assert path.stat().st_size < 1024
    start = time.monotonic()
    for reader in (read_image, read_tiff):
        with pytest.raises(ImageTooLargeError) as err:
            reader(path)
        assert "bomb.tif" in str(err.value) and "20000 x 20000" in str(err.value) and ENV_MAX_PIXELS in str(err.value)
    assert time.monotonic() - start < 5


def test_a_png_header_declaring_a_huge_image_is_refused(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header(20000, 20000))
    with pytest.raises(ImageTooLargeError, match="bomb.png"):
        read_image(path)


def test_the_limit_is_raised_or_lowered_by_env_and_flag(tmp_path, monkeypatch):
    import argparse

    png = _small_png(tmp_path / "a.png")
    assert max_pixels() == 2**28
    monkeypatch.setenv(ENV_MAX_PIXELS, "1000")
    with pytest.raises(ImageTooLargeError, match="64 x 64"):
        read_image(png)
    monkeypatch.setenv(ENV_MAX_PIXELS, "4096")
    assert read_image(png).shape == (64, 64, 3)
    parser = argparse.ArgumentParser()
    add_max_pixels_argument(parser)
    monkeypatch.delenv(ENV_MAX_PIXELS)
    assert parser.parse_args(["--max-pixels", "100"]).max_pixels == 100
    assert max_pixels() == 100
    with pytest.raises(SystemExit):
        parser.parse_args(["--max-pixels", "-3"])


def test_lazy_reads_keep_working_beyond_the_limit_tile_by_tile(tmp_path, monkeypatch):
    from fastsam_plugin.io.lazy import LazyImage

    data = (np.arange(256 * 256) % 251).astype(np.uint8).reshape(256, 256)
    tiled, strip = tmp_path / "tiled.tif", tmp_path / "strip.tif"
    tifffile.imwrite(tiled, data, tile=(64, 64))
    tifffile.imwrite(strip, data, rowsperstrip=256)
    monkeypatch.setenv(ENV_MAX_PIXELS, "8192")  # 256 x 256 is over, a 64 x 64 tile is not
    with pytest.raises(ImageTooLargeError):
        read_image(tiled)
    image = LazyImage(tiled)
    rgb, _ = image.read_window((64, 64, 128, 128))
    assert np.array_equal(rgb[..., 0], data[64:128, 64:128])
    with pytest.raises(ImageTooLargeError, match="one stored tile or strip"):
        LazyImage(strip)


# -- rasters -------------------------------------------------------------------------------------------------------------

VRT_RAW = ('<VRTDataset rasterXSize="64" rasterYSize="64"><VRTRasterBand dataType="Byte" band="1" '
           'subClass="VRTRawRasterBand"><SourceFilename relativetoVRT="0">{source}</SourceFilename>'
           "<ImageOffset>0</ImageOffset><PixelOffset>1</PixelOffset><LineOffset>64</LineOffset>"
           "</VRTRasterBand></VRTDataset>")


@pytest.fixture
def http_server():
    """A local HTTP server that only counts requests."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        do_HEAD = do_GET

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()


def test_a_tif_that_is_a_vrt_never_reads_the_file_it_names(tmp_path, capsys):
    pytest.importorskip("rasterio")
    from fastsam_plugin.io.geotiff import RasterFormatError, band_count, is_georeferenced, open_geotiff

    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET" * 1000)
    evil = tmp_path / "evil.tif"
    evil.write_text(VRT_RAW.format(source=secret))
    assert not is_georeferenced(evil)
    for opener in (open_geotiff, band_count):
        with pytest.raises(RasterFormatError, match="evil.tif is GDAL VRT"):
            opener(evil)
    # the CLI with a geo flag: refused by name, exit 1 (that input failed); no label file made of the secret's bytes
    out = tmp_path / "out"
    assert main(["segment", str(evil), "--out", str(out), "--weights", "demo", "--device", "cpu", "--bands",
                 "1"]) != 0
    captured = capsys.readouterr()
    assert "failed evil.tif: evil.tif is GDAL VRT" in captured.out + captured.err
    assert not out.exists() or not any(out.glob("*.tif"))


def test_no_http_request_from_a_raster(tmp_path, http_server):
    rasterio = pytest.importorskip("rasterio")
    from fastsam_plugin.io.geotiff import GDAL_SAFE_OPTIONS, RasterFormatError, is_georeferenced, open_geotiff

    base, hits = http_server
    evil = tmp_path / "remote.tif"
    evil.write_text(VRT_RAW.format(source=f"/vsicurl/{base}/pixels.bin"))
    assert not is_georeferenced(evil)
    with pytest.raises(RasterFormatError):
        open_geotiff(evil)
    for path in (f"/vsicurl/{base}/x.tif", f"{base}/x.tif", f"/vsizip//vsicurl/{base}/x.zip/a.tif"):
        with pytest.raises(RasterFormatError, match="local files only"):
            open_geotiff(path)
    # and GDAL itself, under the settings every open uses, refuses /vsicurl/ even when asked directly
    with rasterio.Env(**GDAL_SAFE_OPTIONS), pytest.raises(rasterio.errors.RasterioIOError):
        rasterio.open(f"/vsicurl/{base}/x.tif", driver="GTiff")
    assert hits == []


def test_a_sidecar_ovr_is_never_opened(tmp_path):
    pytest.importorskip("rasterio")
    from fastsam_plugin.io.geotiff import open_geotiff, open_raster

    from .geo_fixtures import write_scene

    scene = write_scene(tmp_path / "scene.tif", (128, 128))
    secret = tmp_path / "secret.txt"
    secret.write_bytes(bytes([250]) * 64 * 64)
    # GDAL opens "<file>.ovr" as the overviews, with any driver: here a VRT of the secret's bytes
    (tmp_path / "scene.tif.ovr").write_text(VRT_RAW.format(source=secret))
    with open_raster(scene.path) as ds:
        assert ds.overviews(1) == []
    raster = open_geotiff(scene.path, bands="1,2,3")
    rgb, _ = raster.read_window((0, 0, 128, 128))
    assert rgb[0:30, 0:30].max() == 0  # background stays black: the stretch came from the real pixels


def test_geotiff_windows_are_capped_but_tiles_are_not(tmp_path, monkeypatch):
    pytest.importorskip("rasterio")
    from fastsam_plugin.io.geotiff import open_geotiff

    from .geo_fixtures import write_scene

    scene = write_scene(tmp_path / "scene.tif", (128, 128))
    raster = open_geotiff(scene.path)
    monkeypatch.setenv(ENV_MAX_PIXELS, str(64 * 64))
    assert raster.read_window((0, 0, 64, 64))[0].shape == (64, 64, 3)
    with pytest.raises(ImageTooLargeError):
        raster.read_rgb()


# -- YAML ---------------------------------------------------------------------------------------------------------------

BOMB = "path: .\ntrain: images/train\nval: images/val\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi")
) + "names: [*i, *i, *i, *i, *i, *i, *i, *i, *i]\n"


def test_a_yaml_alias_bomb_is_refused_before_it_is_built(tmp_path):
    path = tmp_path / "data.yaml"
    path.write_text(BOMB)
    assert len(BOMB) < 700
    start = time.monotonic()
    with pytest.raises(PlainYAMLError, match="alias"):
        load_plain_yaml(path)
    assert time.monotonic() - start < 2


def test_the_training_yaml_route_refuses_the_bomb_and_python_tags(tmp_path):
    from fastsam_plugin.training.train import DatasetYAMLError, safe_data_yaml

    bomb = tmp_path / "data.yaml"
    bomb.write_text(BOMB)
    with pytest.raises(DatasetYAMLError, match="alias"):
        safe_data_yaml(bomb, tmp_path / "work")
    marker = tmp_path / "marker"
    tagged = tmp_path / "tagged.yaml"
    tagged.write_text(f"names: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(DatasetYAMLError):
        safe_data_yaml(tagged, tmp_path / "work")
    assert not marker.exists()
    plain = tmp_path / "plain.yaml"
    plain.write_text("path: .\ntrain: images/train\nval: images/val\nnames:\n  0: object\n")
    assert load_plain_yaml(plain)["names"] == {0: "object"}
    assert safe_data_yaml(plain, tmp_path / "work") == plain


def test_label_folder_and_bsds_links_leading_out_are_refused(tmp_path):
    from fastsam_plugin.evaluation.bsds import bsds_images
    from fastsam_plugin.training.convert import read_label_folder

    _small_png(tmp_path / "secret.png")
    images, labels = tmp_path / "images", tmp_path / "labels"
    images.mkdir()
    labels.mkdir()
    _small_png(images / "a.png")
    (labels / "a.png").symlink_to(tmp_path / "secret.png")
    with pytest.raises(PathOutsideError, match="label image 'a.png'"):
        list(read_label_folder(labels, images))
    root = tmp_path / "bsds"
    (root / "groundTruth" / "val").mkdir(parents=True)
    (root / "images" / "val").mkdir(parents=True)
    (tmp_path / "x.mat").write_bytes(b"MATLAB")
    (root / "groundTruth" / "val" / "1.mat").symlink_to(tmp_path / "x.mat")
    with pytest.raises(PathOutsideError, match="BSDS500 root"):
        bsds_images(root, "val")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", ".", "..", "", "c.png"]), min_size=1, max_size=6),
       st.booleans())
def test_path_inside_never_returns_a_path_outside(tmp_path_factory, parts, absolute):
    root = tmp_path_factory.getbasetemp() / "root" / "in"
    root.mkdir(parents=True, exist_ok=True)
    name = ("/" if absolute else "") + "/".join(parts)
    try:
        got = path_inside(root, name, source="x")
    except PathOutsideError:
        return
    assert not absolute and got.is_relative_to(root.resolve()) and got != root.resolve()


@given(st.text(max_size=12))
def test_output_names_that_pass_are_one_file_name_part(name):
    from fastsam_plugin.io.paths import check_output_name

    try:
        check_output_name(name, source="r.json")
    except PathOutsideError:
        return
    assert "/" not in name and "\\" not in name and name not in (".", "..") and "\x00" not in name
    assert Path("out", f"img_{name}.tif").parent == Path("out")


def test_eval_trees_reads_no_tile_named_outside_the_dataset(tmp_path):
    from fastsam_plugin.evaluation.trees import evaluate_trees

    root = tmp_path / "urban-trees"
    (root / "images").mkdir(parents=True)
    tifffile.imwrite(tmp_path / "secret.tif", np.zeros((8, 8, 4), np.uint8))
    (root / "train_socal.txt").write_text("a\n")
    (root / "val_socal.txt").write_text("../../secret\n")

    class NoModel:
        segmenter = None

        def segment(self, image):
            raise AssertionError("a tile outside the dataset was read and segmented")

    with pytest.raises(PathOutsideError, match="val_socal.txt names the tile 'images/../../secret.tif'"):
        evaluate_trees(NoModel(), root, split="val", progress=False)
    _tiff_declaring(root / "images" / "big.tif", (20000, 20000))
    (root / "val_socal.txt").write_text("big\n")
    with pytest.raises(ImageTooLargeError, match="big.tif"):
        evaluate_trees(NoModel(), root, split="val", progress=False)
