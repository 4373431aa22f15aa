"""``napari-fastsam eval --bsds`` boundary modes on a small BSDS-shaped folder made here."""

import json

import cv2
import numpy as np
import pytest
import tifffile
from scipy.io import savemat
from skimage.morphology import thin

from fastsam_plugin.cli import main
from fastsam_plugin.evaluation.bsds import canny_edges, load_boundaries, read_edge_map
from tests.paths import SHARED


def regions(seed):
    rng = np.random.default_rng(seed)
    lab = np.ones((60, 80), np.int32)
    for k in range(2, 5):
        y, x = rng.integers(5, 40), rng.integers(5, 60)
        lab[y : y + 15, x : x + 15] = k
    return lab


def boundary(lab):
    b = np.zeros(lab.shape, bool)
    b[:, 1:] |= lab[:, 1:] != lab[:, :-1]
    b[1:, :] |= lab[1:, :] != lab[:-1, :]
    return thin(b)


@pytest.fixture
def bsds_root(tmp_path):
    """Two images, three annotators who drew the same regions."""
    for stem, seed in (("a", 0), ("b", 1)):
        lab = regions(seed)
        cell = np.empty((1, 3), dtype=object)
        for k in range(3):
            cell[0, k] = {"Segmentation": lab, "Boundaries": boundary(lab).astype(np.uint8)}
        (tmp_path / "groundTruth" / "val").mkdir(parents=True, exist_ok=True)
        (tmp_path / "images" / "val").mkdir(parents=True, exist_ok=True)
        savemat(tmp_path / "groundTruth" / "val" / f"{stem}.mat", {"groundTruth": cell})
        image = np.where(lab[..., None] % 2 == 0, 200, 40).astype(np.uint8).repeat(3, axis=2)
        cv2.imwrite(str(tmp_path / "images" / "val" / f"{stem}.jpg"), image)
    return tmp_path


def run_json(capsys, *argv):
    capsys.readouterr()
    assert main(["eval", *argv, "--json", "--no-progress", "--workers", "1"]) == 0
    return json.loads(capsys.readouterr().out)


def test_edge_maps_equal_to_the_annotation_score_one(bsds_root, tmp_path, capsys):
    maps = tmp_path / "maps"
    maps.mkdir()
    for mat in sorted((bsds_root / "groundTruth" / "val").glob("*.mat")):
        cv2.imwrite(str(maps / f"{mat.stem}.png"), load_boundaries(mat)[0].astype(np.uint8) * 255)
    out = run_json(capsys, "--bsds", str(bsds_root), "--edge-maps", str(maps))
    assert set(out) >= {"ODS", "OIS", "AP", "R50"}
    assert out["ODS"] == pytest.approx(1.0) and out["OIS"] == pytest.approx(1.0)
    assert out["matching"] == "one-to-one" and out["images"] == 2


def test_human_consistency_of_agreeing_annotators_is_one(bsds_root, capsys):
    out = run_json(capsys, "--bsds", str(bsds_root), "--human")
    assert out["F"] == pytest.approx(1.0) and out["P"] == pytest.approx(1.0) and out["R"] == pytest.approx(1.0)


def test_canny_reference_and_fast_rule(bsds_root, capsys):
    exact = run_json(capsys, "--bsds", str(bsds_root), "--canny")
    fast = run_json(capsys, "--bsds", str(bsds_root), "--canny", "--fast")
    assert 0 < exact["ODS"] <= fast["ODS"] <= 1
    assert fast["matching"] == "distance"


def test_missing_edge_maps_and_misuse_are_clear_errors(bsds_root, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["eval", "--bsds", str(bsds_root), "--edge-maps", str(tmp_path / "empty"), "--no-progress"]) == 2
    assert "2 of 2 images have no edge map" in capsys.readouterr().err
    assert main(["eval", "--bsds", str(tmp_path / "nowhere"), "--human", "--no-progress"]) == 2
    assert "no BSDS500 ground truth" in capsys.readouterr().err
    assert main(["eval", "--gt", str(tmp_path / "x.json"), "--human"]) == 2
    assert "give --bsds" in capsys.readouterr().err


def test_edge_map_files_are_read_in_unit_range(tmp_path):
    ramp = np.linspace(0, 1, 20).reshape(4, 5)
    cv2.imwrite(str(tmp_path / "u8.png"), (ramp * 255).round().astype(np.uint8))
    tifffile.imwrite(tmp_path / "u16.tif", (ramp * 65535).round().astype(np.uint16))
    tifffile.imwrite(tmp_path / "f.tif", ramp.astype(np.float32))
    for name in ("u8.png", "u16.tif", "f.tif"):
        assert read_edge_map(tmp_path / name) == pytest.approx(ramp, abs=1 / 255)
    tifffile.imwrite(tmp_path / "bad.tif", (ramp * 3).astype(np.float32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        read_edge_map(tmp_path / "bad.tif")


def test_canny_map_is_soft_and_follows_the_edges():
    lab = regions(3)
    image = np.where(lab[..., None] % 2 == 0, 200, 40).astype(np.uint8).repeat(3, axis=2)
    edges = canny_edges(image)
    assert edges.dtype == np.float32 and 0 <= edges.min() and edges.max() <= 1
    near = cv2.dilate(boundary(lab).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert edges[near].sum() > 0.95 * edges.sum()


@pytest.mark.data
@pytest.mark.skipif(not (SHARED / "bsds500").exists(), reason="../shared/data (BSDS500) is not present")
def test_real_bsds_human_consistency_is_in_the_published_range(capsys):
    out = run_json(capsys, "--bsds", str(SHARED / "bsds500"), "--human", "--limit", "3")
    assert 0.7 < out["F"] < 0.95 and out["P"] > out["R"]


def test_parallel_scoring_equals_serial_and_reports_cpu_time(bsds_root):
    from fastsam_plugin.evaluation.boundaries import thresholds
    from fastsam_plugin.evaluation.bsds import bsds_images, score_images

    items = bsds_images(bsds_root, "val")
    t = thresholds(9)
    stats = {}
    serial = score_images(items, "canny", thresholds=t, workers=1, progress=False)
    parallel = score_images(items, "canny", thresholds=t, workers=2, progress=False, stats=stats)
    assert all(np.array_equal(a, b) for a, b in zip(serial, parallel))
    assert stats["cpu_seconds"] > 0


def test_canny_row_beside_edge_maps_is_nested_in_json(bsds_root, tmp_path, capsys):
    maps = tmp_path / "maps"
    maps.mkdir()
    for mat in sorted((bsds_root / "groundTruth" / "val").glob("*.mat")):
        tifffile.imwrite(maps / f"{mat.stem}_edges.tif", load_boundaries(mat)[0].astype(np.float32))
    out = run_json(capsys, "--bsds", str(bsds_root), "--edge-maps", str(maps), "--canny", "--thresholds", "9")
    assert out["ODS"] == pytest.approx(1.0)
    assert out["Canny (reference)"]["ODS"] < 1.0
