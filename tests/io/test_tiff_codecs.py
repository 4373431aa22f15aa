"""Compressed TIFFs as microscopes and Fiji save them (LZW, Deflate, JPEG, Zstandard) read everywhere.

Each compression is written with tifffile and read back through the project's
reader (API), ``napari-fastsam segment`` (CLI) and napari's reader chain
(npe2); a missing codec is reported as such, with the install command.
"""

from __future__ import annotations

import types

import numpy as np
import pytest
import tifffile

from fastsam_plugin.engine.imaging import ImageError
from fastsam_plugin.io import read_image
from fastsam_plugin.training.nuclei import make_nuclei_scene

LOSSLESS = ("lzw", "deflate", "zstd")


@pytest.fixture(scope="module")
def scene():
    """A 16-bit fluorescence nuclei image (as a microscope writes it) and its labels."""
    return make_nuclei_scene(11, (160, 192), diameter=18, bit_depth=16)


def _write(path, image, compression):
    if compression == "jpeg":  # JPEG holds 8 bits per sample
        image = (image // 257).astype(np.uint8)
    tifffile.imwrite(path, image, compression=compression)
    return image


@pytest.mark.parametrize("compression", [*LOSSLESS, "jpeg"])
def test_read_image_reads_each_compression(tmp_path, scene, compression):
    path = tmp_path / f"frame_{compression}.tif"
    written = _write(path, scene.image, compression)
    with tifffile.TiffFile(path) as tif:  # the file really is compressed that way
        assert tif.pages.first.compression.name.lower().startswith(compression[:3])
    back = read_image(path)
    assert back.shape == written.shape and back.dtype == written.dtype
    if compression in LOSSLESS:
        np.testing.assert_array_equal(back, written)
    else:  # lossy: close, not equal
        assert np.abs(back.astype(float) - written).mean() < 3.0


@pytest.mark.parametrize("compression", [*LOSSLESS, "jpeg"])
def test_napari_reader_chain_reads_each_compression(tmp_path, scene, compression):
    npe2 = pytest.importorskip("npe2")
    npe2.PluginManager.instance().discover()
    path = tmp_path / f"frame_{compression}.tif"
    written = _write(path, scene.image, compression)
    layers = npe2.read([str(path)], stack=False)
    assert len(layers) == 1
    data = np.asarray(layers[0][0])
    assert data.shape == written.shape
    if compression in LOSSLESS:
        np.testing.assert_array_equal(data, written)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_cli_segments_an_lzw_tiff_as_its_uncompressed_copy(tmp_path, scene):
    from fastsam_plugin.cli.main import main

    plain, lzw = tmp_path / "plain.tif", tmp_path / "lzw.tif"
    tifffile.imwrite(plain, scene.image)
    tifffile.imwrite(lzw, scene.image, compression="lzw")
    outs = []
    for path in (plain, lzw):
        out = tmp_path / f"out_{path.stem}"
        assert main(["segment", str(path), "--out", str(out), "--weights", "demo-nuclei", "--device", "cpu"]) == 0
        labels = [p for p in out.rglob("*.tif")]
        assert labels, f"no label image written for {path.name}"
        outs.append(tifffile.imread(labels[0]))
    a, b = outs
    assert a.max() > 5, "the model found (almost) no nuclei in the uncompressed frame"
    assert _iou(a > 0, b > 0) > 0.98


def _without_imagecodecs(monkeypatch):
    """Make tifffile decode as on a machine without imagecodecs (after the test file was written with it)."""
    import tifffile.tifffile as tt

    monkeypatch.setattr(tt, "imagecodecs", types.ModuleType("imagecodecs"))
    monkeypatch.setattr(tt.TIFF.DECOMPRESSORS, "_codecs", {}, raising=False)


@pytest.mark.parametrize("compression,name", [("lzw", "LZW"), ("zstd", "ZSTD")])
def test_missing_codec_names_it_and_the_install_command(tmp_path, scene, monkeypatch, compression, name):
    path = tmp_path / f"frame_{compression}.tif"
    _write(path, scene.image, compression)
    _without_imagecodecs(monkeypatch)
    with pytest.raises(ImageError) as info:
        read_image(path)
    message = str(info.value)
    assert name in message and "pip install imagecodecs" in message
    assert "truncated" not in message and "damaged" not in message


def test_cli_reports_a_missing_codec(tmp_path, scene, monkeypatch, capsys):
    from fastsam_plugin.cli.main import main

    path = tmp_path / "frame.tif"
    _write(path, scene.image, "lzw")
    _without_imagecodecs(monkeypatch)
    code = main(["segment", str(path), "--out", str(tmp_path / "o"), "--weights", "demo-nuclei", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code != 0
    assert "LZW" in captured.out + captured.err and "pip install imagecodecs" in captured.out + captured.err
    assert "is the file complete" not in captured.out + captured.err
