"""A folder of small GeoTIFF tiles through ``napari-fastsam segment``: one model for the whole folder."""

from __future__ import annotations

import pytest

from fastsam_plugin.cli.main import main
from fastsam_plugin.engine import session as session_module

from ..io.geo_fixtures import write_scene

rasterio = pytest.importorskip("rasterio")


def test_a_folder_of_tiles_loads_the_model_once(tmp_path, monkeypatch):
    folder = tmp_path / "tiles"
    folder.mkdir()
    for k in range(3):
        write_scene(folder / f"tile_{k}.tif", hw=(96, 128))
    loads = []
    real = session_module.create_segmenter

    def counting(*args, **kwargs):
        loads.append(kwargs.get("weights"))
        return real(*args, **kwargs)

    monkeypatch.setattr(session_module, "create_segmenter", counting)
    out = tmp_path / "out"
    assert main(["segment", str(folder), "--out", str(out), "--weights", "demo", "--device", "cpu",
                 "--imgsz", "128", "--bands", "4,1,2"]) == 0
    assert loads == ["demo"]  # one load, three tiles
    for k in range(3):
        with rasterio.open(out / f"tile_{k}_labels.tif") as ds:
            assert ds.crs.to_epsg() == 32633 and (ds.height, ds.width) == (96, 128)
