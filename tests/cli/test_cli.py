"""The command line, run in-process through its main()."""


import cv2
import numpy as np
import pytest
import tifffile

from fastsam_plugin.cli.main import main
from fastsam_plugin.training.synthetic import make_scene

from ..paths import SHARED


@pytest.fixture
def image_folder(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for k in (1, 2):
        cv2.imwrite(str(folder / f"scene{k}.png"), make_scene(k).image[..., ::-1])
    (folder / "broken.png").write_bytes(b"not a png")
    return folder


DEMO = ["--weights", "demo", "--device", "cpu", "--imgsz", "320"]


def test_segment_folder_reports_failures_and_continues(image_folder, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["segment", str(image_folder), "--out", str(out), *DEMO, "--coco",
                 "--points", "160,160", "10,10,0", "--box", "0,0,320,320"])
    text = capsys.readouterr()
    assert code == 1
    assert "failed" in text.out + text.err and "broken.png" in text.out + text.err
    assert "2 of 3 input(s) complete" in text.out and "1 input(s) failed" in text.out
    assert "ModuleNotFoundError" not in text.out + text.err
    for k in (1, 2):
        lab = tifffile.imread(out / f"scene{k}_labels.tif")
        assert lab.shape == (320, 320) and lab.max() > 0
        assert (out / f"scene{k}_proposals.json").exists()
        assert (out / f"scene{k}_points.tif").exists() and (out / f"scene{k}_box.tif").exists()


def test_existing_outputs_are_kept_unless_overwrite(image_folder, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (image_folder / "broken.png").unlink()
    marker = np.full((5, 5), 42, np.int32)
    tifffile.imwrite(out / "scene1_labels.tif", marker)
    assert main(["segment", str(image_folder), "--out", str(out), *DEMO]) == 0
    assert "scene1.png: all 1 output(s) already complete, kept" in capsys.readouterr().out
    np.testing.assert_array_equal(tifffile.imread(out / "scene1_labels.tif"), marker)
    main(["segment", str(image_folder), "--out", str(out), *DEMO, "--overwrite"])
    assert tifffile.imread(out / "scene1_labels.tif").shape == (320, 320)


def test_stack_and_16bit_input(tmp_path):
    from fastsam_plugin.training.synthetic import make_stack

    tifffile.imwrite(tmp_path / "stack.tif", make_stack(0, depth=2, size=(128, 128)))
    assert main(["segment", str(tmp_path / "stack.tif"), "--out", str(tmp_path / "o"), *DEMO, "--stack"]) == 0
    assert tifffile.imread(tmp_path / "o" / "stack_labels.tif").shape == (2, 128, 128)


def test_missing_weights_offline_is_a_clear_error(image_folder, tmp_path, capsys):
    code = main(["segment", str(image_folder), "--out", str(tmp_path / "o"), "--weights", "FastSAM-s"])
    err = capsys.readouterr().err
    assert code == 2 and "FastSAM-s.pt is not on this machine" in err


def test_bad_prompt_syntax_is_rejected(image_folder, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["segment", str(image_folder), "--out", str(tmp_path), "--box", "1,2,3"])
    assert "expected 4 comma-separated numbers" in capsys.readouterr().err


def test_demo_writes_overlays_and_labels(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--device", "cpu"]) == 0
    for name in ("scene.png", "everything.png", "point.png", "box.png", "text.png", "everything_labels.tif"):
        assert (tmp_path / "demo" / name).exists()
    assert "text prompt: IoU" in capsys.readouterr().out


def test_edges_output_and_eval_on_own_ground_truth(tmp_path, capsys):
    import json

    from fastsam_plugin.io import labels_to_coco

    folder = tmp_path / "in"
    folder.mkdir()
    scene = make_scene(11)
    cv2.imwrite(str(folder / "s.png"), scene.image[..., ::-1])
    assert main(["segment", str(folder), "--out", str(tmp_path / "o"), *DEMO, "--edges"]) == 0
    edges = tifffile.imread(tmp_path / "o" / "s_edges.tif")
    assert edges.shape == (320, 320) and edges.max() == 1.0
    lab = np.zeros((320, 320), np.int32)
    for i, m in enumerate(scene.masks, start=1):
        lab[m] = i
    gt = labels_to_coco(lab, file_name="s.png")
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    capsys.readouterr()
    assert main(["eval", "--gt", str(tmp_path / "gt.json"), "--images", str(folder), *DEMO, "--box-prompts"]) == 0
    out = capsys.readouterr().out
    assert "mask AR@100" in out and "box-prompted AP" in out


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data (BSDS500) is not present on this machine")
def test_eval_bsds_two_images(capsys):
    assert main(["eval", "--bsds", str(SHARED / "bsds500"), "--limit", "2", *DEMO]) == 0
    out = capsys.readouterr().out
    assert "ODS" in out and "mask AR@100" in out
