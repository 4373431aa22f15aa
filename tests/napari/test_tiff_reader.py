"""The plugin's TIFF reader never refuses a TIFF it claims: plain TIFFs open as napari's own reader opens them."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from fastsam_plugin.napari.ome_reader import is_calibrated, read_calibrated_tiff
from fastsam_plugin.napari.reader import get_reader, read_plain_tiff

RNG = np.random.default_rng(7)
GRAY16 = RNG.integers(0, 4000, (3, 40, 48), dtype=np.uint16)
_yy, _xx = np.mgrid[:40, :48]
RGB8 = np.stack([_yy * 5, _xx * 4, 200 - _yy * 2], axis=-1).astype(np.uint8)  # smooth: JPEG keeps it close


def _write(path, data, **options):
    tifffile.imwrite(path, data, **{"photometric": "minisblack", **options})
    return str(path)


@pytest.mark.parametrize("compression", [None, "lzw", "zlib", "zstd"])
def test_lossless_plain_tiffs_open_pixel_for_pixel(tmp_path, compression):
    path = _write(tmp_path / f"cells_{compression}.tif", GRAY16, compression=compression, photometric="minisblack")
    assert get_reader(path) is read_plain_tiff
    ((data, meta, kind),) = get_reader(path)(path)
    assert kind == "image" and meta["name"] == f"cells_{compression}"
    np.testing.assert_array_equal(data, GRAY16)


def test_a_jpeg_compressed_rgb_tiff_opens(tmp_path):
    path = _write(tmp_path / "photo.tif", RGB8, compression="jpeg", photometric="rgb")
    ((data, _, _),) = get_reader(path)(path)
    assert data.shape == RGB8.shape and data.dtype == np.uint8
    assert np.abs(data.astype(int) - RGB8).mean() < 6  # lossy, but the same picture


def test_a_72_dpi_tiff_is_not_calibrated_but_a_micrometre_one_is(tmp_path):
    photo = _write(tmp_path / "photo.tif", RGB8, resolution=(72, 72), resolutionunit="INCH", photometric="rgb")
    assert not is_calibrated(photo) and get_reader(photo) is read_plain_tiff
    fiji = _write(tmp_path / "fiji.tif", GRAY16, imagej=True, resolution=(1 / 0.2, 1 / 0.2),
                  metadata={"unit": "um", "axes": "ZYX"})
    assert is_calibrated(fiji) and get_reader(fiji) is read_calibrated_tiff


def test_a_list_of_same_sized_tiffs_is_one_stack(tmp_path):
    paths = [_write(tmp_path / f"z{k}.tif", GRAY16[k]) for k in range(3)]
    ((data, _, _),) = get_reader(paths)(paths)
    np.testing.assert_array_equal(data, GRAY16)


def test_a_damaged_tiff_is_a_message_not_a_refusal(tmp_path):
    path = tmp_path / "cut.tif"
    path.write_bytes(open(_write(tmp_path / "whole.tif", GRAY16, compression="zlib"), "rb").read()[:300])
    assert get_reader(str(path)) is read_plain_tiff
    with pytest.raises(Exception, match="cut.tif"):
        read_plain_tiff(str(path))


def test_napari_opens_a_plain_tiff_with_the_plugin_as_with_its_own_reader(make_napari_viewer, tmp_path):
    path = _write(tmp_path / "nuclei.tif", GRAY16, compression="lzw")
    viewer = make_napari_viewer()
    (ours,) = viewer.open(path, plugin="napari-fastsam")
    (theirs,) = viewer.open(path, plugin="napari")
    np.testing.assert_array_equal(np.asarray(ours.data), np.asarray(theirs.data))
    assert ours.rgb == theirs.rgb and ours.name == "nuclei" and theirs.name.startswith("nuclei")  # (a 2nd one: " [1]")
    assert ours.data.shape == GRAY16.shape
