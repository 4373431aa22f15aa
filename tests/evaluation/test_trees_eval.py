"""``napari-fastsam eval --trees``: the Urban Tree Detection rule on a small tiles folder made here (and the real one)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from fastsam_plugin.cli import main
from fastsam_plugin.engine.pipeline import TileOptions
from fastsam_plugin.engine.session import Session
from fastsam_plugin.evaluation.trees import PUBLISHED, evaluate_trees
from tests.components_backend import ComponentsSegmenter
from tests.paths import SHARED

NAIP = SHARED / "aerial" / "urban-trees"

# (tile, crowns drawn as 9-px squares in the near-IR band only, tree points): per tile, the crowns the components
# backend finds and the trees inside them are known
TILES = {
    "city_2020_1": ([(20, 20), (60, 30)], [(20, 20), (60, 30), (100, 100)]),  # a tree without a crown
    "city_2020_2": ([(40, 40), (90, 90)], [(40, 40), (42, 41)]),  # two trees in one crown, a crown without a tree
}


@pytest.fixture
def tiles(tmp_path):
    root = tmp_path / "urban-trees"
    (root / "images").mkdir(parents=True)
    (root / "csv").mkdir()
    for name, (crowns, points) in TILES.items():
        image = np.zeros((128, 128, 4), np.uint8)
        for x, y in crowns:
            image[y - 4 : y + 5, x - 4 : x + 5, 3] = 200
        tifffile.imwrite(root / "images" / f"{name}.tif", image)
        (root / "csv" / f"{name}.csv").write_text("x,y\n" + "".join(f"{x},{y}\n" for x, y in points))
    (root / "val_socal.txt").write_text("\n".join(TILES) + "\n")
    (root / "train_socal.txt").write_text("")
    return root


def components_session():
    return Session(segmenter=ComponentsSegmenter(), tiling=TileOptions(enabled=False))


def test_counts_pooled_over_tiles_with_the_models_bands(tiles):
    session = components_session()
    scores = evaluate_trees(session, tiles, bands=(4, 1, 2), progress=False)
    # tile 1: 3 trees, 2 crowns, 2 found; tile 2: 2 trees, 2 crowns, one crown holds both trees: 1 found
    assert {k: scores["box"][k] for k in ("tiles", "trees", "objects", "TP")} == \
        {"tiles": 2, "trees": 5, "objects": 4, "TP": 3}
    assert scores["box"]["precision"] == pytest.approx(3 / 4) and scores["box"]["recall"] == pytest.approx(3 / 5)
    assert scores["mask"]["TP"] == 3  # the crowns are filled squares: mask and box agree
    assert session.segmenter.calls == 2  # one model, each tile segmented once


def test_bands_the_crowns_are_not_in_find_nothing(tiles):
    scores = evaluate_trees(components_session(), tiles, bands=(1, 2, 3), progress=False)
    assert scores["box"]["objects"] == 0 and scores["box"]["TP"] == 0 and scores["box"]["trees"] == 5


def test_bad_split_and_bands_say_what_to_do(tiles):
    with pytest.raises(ValueError, match="test_socal"):
        evaluate_trees(components_session(), tiles, split="test", progress=False)
    with pytest.raises(ValueError, match="bands 1-4"):
        evaluate_trees(components_session(), tiles, bands=(5, 1, 2), progress=False)
    with pytest.raises(FileNotFoundError, match="urban-trees"):
        evaluate_trees(components_session(), tiles / "images", progress=False)


def test_cli_json_with_the_demo_model(tiles, capsys):
    code = main(["eval", "--trees", str(tiles), "--weights", "demo", "--device", "cpu", "--imgsz", "128",
                 "--bands", "4,1,2", "--json", "--no-progress"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["bands"] == [4, 1, 2] and out["imgsz"] == 128 and out["split"] == "val"
    for rule in ("point in box", "point in mask"):
        assert out[rule]["tiles"] == 2 and out[rule]["trees"] == 5
        assert 0 <= out[rule]["TP"] <= min(5, out[rule]["objects"])
        assert out[rule]["precision"] == (out[rule]["TP"] / out[rule]["objects"] if out[rule]["objects"] else None)
    assert out["published"]["precision"] == PUBLISHED["precision"] == 0.736


def test_cli_table_and_errors(tiles, capsys):
    assert main(["eval", "--trees", str(tiles), "--weights", "demo", "--device", "cpu", "--imgsz", "128",
                 "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "point in box" in text and "point in mask" in text and "0.736" in text and "different split" in text
    assert "bands 1,2,3" in text  # the demo model records no bands: true colour
    assert main(["eval", "--trees", str(tiles), "--weights", "demo", "--split", "test", "--no-progress"]) == 2
    assert "test_socal" in capsys.readouterr().err
    assert main(["eval", "--trees", str(tiles / "nowhere"), "--weights", "demo", "--no-progress"]) == 2
    assert "urban-trees" in capsys.readouterr().err
    assert main(["eval", "--trees", str(tiles), "--canny"]) == 2


@pytest.mark.data
@pytest.mark.skipif(not NAIP.is_dir(), reason="../shared/data/aerial/urban-trees is absent")
def test_real_val_tiles_pool_every_tree():
    scores = evaluate_trees(components_session(), NAIP, bands=(4, 1, 2), limit=3, progress=False)
    names = (NAIP / "val_socal.txt").read_text().split()[:3]
    trees = sum(len((NAIP / "csv" / f"{n}.csv").read_text().split()) - 1 for n in names
                if (NAIP / "csv" / f"{n}.csv").is_file())
    assert scores["box"]["tiles"] == 3 and scores["box"]["trees"] == trees > 0
    assert scores["mask"]["trees"] == trees and scores["mask"]["TP"] <= min(trees, scores["mask"]["objects"])


def test_cli_shows_the_tiles_in_the_bands_the_model_records(tiles, tmp_path, capsys):
    from fastsam_plugin.training.train import record_operating_point, save_architecture_checkpoint

    banded = save_architecture_checkpoint("demo", tmp_path / "banded.pt")
    record_operating_point(banded, 128, 0.01, bands=[4, 1, 2])
    assert main(["eval", "--trees", str(tiles), "--weights", str(banded), "--device", "cpu", "--json",
                 "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["bands"] == [4, 1, 2] and out["imgsz"] == 128 and out["conf"] == 0.01  # the record's
    assert main(["eval", "--trees", str(tiles), "--weights", str(banded), "--device", "cpu", "--bands", "1,2,3",
                 "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["bands"] == [1, 2, 3]  # the user's choice wins
