"""The engine refuses what it cannot answer honestly, and a Session is safe to share between threads."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from fastsam_plugin.engine.clip import ClipLoadError
from fastsam_plugin.engine.hookspecs import hookimpl
from fastsam_plugin.engine.imaging import ImageError, normalize_image
from fastsam_plugin.engine.model import EverythingParams, FastSAMSegmenter, ModelLoadError
from fastsam_plugin.engine.pipeline import ImageOptions
from fastsam_plugin.engine.result import SegmentationResult
from fastsam_plugin.engine.session import PromptError, Session
from fastsam_plugin.errors import USER_ERRORS, FastSAMError, UsageError, describe_unexpected, log_unexpected

from ..components_backend import ComponentsSegmenter


class PhantomSegmenter:
    """Always 'finds' one object, as a real model does on a featureless picture."""

    def __init__(self):
        self.calls = 0

    def segment(self, image, **params):
        self.calls += 1
        mask = np.zeros((1, *image.shape[:2]), bool)
        mask[0, 2:6, 2:6] = True
        return SegmentationResult.from_masks(mask, np.array([[2, 2, 6, 6]]), np.ones(1), image)


# -- stacks and channel order ------------------------------------------------------------------


@pytest.mark.parametrize("z", [5, 20, 64])
def test_a_stack_is_refused_with_the_way_out(z):
    with pytest.raises(ImageError, match=r"--stack.*--channels-axis"):
        normalize_image(np.zeros((z, 320, 256), np.uint16))


@pytest.mark.parametrize("c", [2, 3, 4])
def test_channels_first_is_refused_as_ambiguous_then_handled_when_named(c):
    data = np.random.default_rng(0).integers(0, 4000, (c, 64, 80)).astype(np.uint16)
    with pytest.raises(ImageError, match="ambiguous"):
        normalize_image(data)
    rgb = normalize_image(data, channels_axis=0)
    assert rgb.shape == (64, 80, 3)
    np.testing.assert_array_equal(rgb, normalize_image(np.moveaxis(data, 0, -1)))


def test_channels_last_images_are_unchanged():
    rng = np.random.default_rng(1)
    assert normalize_image(rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)).shape == (64, 80, 3)
    # many channels last (hyperspectral): first axis is not small, so no stack guess
    assert normalize_image(rng.random((64, 80, 20))).shape == (64, 80, 3)


def test_session_segment_refuses_a_stack_and_segment_stack_takes_it():
    session = Session(segmenter=ComponentsSegmenter())
    stack = np.zeros((20, 64, 64), np.uint8)
    stack[:, 10:20, 10:20] = 200
    with pytest.raises(ImageError, match="stack of 20 slices"):
        session.segment(stack)
    results = session.segment_stack(stack)
    assert len(results) == 20 and all(r.shape == (64, 64) and len(r) == 1 for r in results)


# -- featureless images ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((64, 64), np.uint8),
        np.full((64, 64, 3), 255, np.uint8),
        np.full((64, 64), np.nan),
        np.full((64, 64), np.inf),
        np.full((64, 64), -np.inf),
        np.full((64, 64), 7.5, np.float32),
    ],
    ids=["black", "white", "nan", "inf", "-inf", "constant"],
)
def test_blank_images_have_no_objects_and_the_model_is_not_asked(image):
    seg = PhantomSegmenter()
    result = Session(segmenter=seg).segment(image)
    assert len(result) == 0 and result.shape == (64, 64) and seg.calls == 0
    assert result.labels().max() == 0


def test_blank_tiles_of_a_large_image_are_skipped():
    from fastsam_plugin.engine.pipeline import TileOptions

    image = np.zeros((300, 300), np.uint8)
    image[10:20, 10:20] = 255  # contrast only in the first tile
    seg = PhantomSegmenter()
    Session(segmenter=seg, tiling=TileOptions(enabled=True, tile=128, overlap=16)).segment(image)
    assert seg.calls == 1


def test_an_image_with_contrast_is_still_segmented():
    seg = PhantomSegmenter()
    image = np.zeros((64, 64), np.uint8)
    image[30, 30] = 1
    assert len(Session(segmenter=seg).segment(image)) == 1 and seg.calls == 1


# -- prompts --------------------------------------------------------------------------------------


@pytest.fixture
def scene():
    img = np.zeros((60, 80, 3), np.uint8)
    img[10:30, 10:30] = 200
    img[35:55, 40:70] = 120
    session = Session(segmenter=ComponentsSegmenter())
    return session, session.segment(img)


@pytest.mark.parametrize("point", [(-1, 5), (80, 5), (5, 60), (79.6, 5), (-0.6, 0)])
def test_points_outside_the_image_are_a_prompt_error_naming_them(scene, point):
    session, result = scene
    with pytest.raises(PromptError, match="outside the image"):
        session.select_points(result, np.array([point, (15, 15)]), np.array([1, 1]))


def test_points_on_the_edge_pixels_are_inside(scene):
    session, result = scene
    # pixel centres are integers; 79.4 rounds to column 79, the last one
    sel = session.select_points(result, np.array([[79.4, 59.4], [15, 15]]), np.array([1, 1]))
    assert sel[15, 15] and sel.sum() == 400


@pytest.mark.parametrize("label", [2, -1, 0.9])
def test_point_labels_are_only_zero_or_one(scene, label):
    session, result = scene
    with pytest.raises(PromptError, match="1 .foreground. or 0 .background."):
        session.select_points(result, np.array([[15, 15]]), np.array([label]))


def test_boxes_outside_the_image_are_a_prompt_error(scene):
    session, result = scene
    with pytest.raises(PromptError, match="no area inside"):
        session.select_boxes(result, np.array([[100, 100, 120, 120]]))


@pytest.mark.parametrize("text", ["", "   ", [], ["cell", ""]])
def test_empty_text_is_a_prompt_error(demo_session, text):
    result = demo_session.segment(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    with pytest.raises(PromptError, match="non-empty"):
        demo_session.select_text(result, text)


# -- CLIP failures are remembered ----------------------------------------------------------------


class FailingEmbedders:
    calls = 0

    @hookimpl
    def fastsam_embedders(self):
        def build(**options):
            FailingEmbedders.calls += 1
            raise ClipLoadError("no CLIP weights offline")

        return {"failing": build}


def test_a_failed_clip_load_is_reported_once_per_session_not_retried(scene):
    from fastsam_plugin.engine.backends import plugin_manager

    pm = plugin_manager()
    plugin = FailingEmbedders()
    pm.register(plugin, name="failing-test")
    try:
        _, result = scene
        session = Session(segmenter=ComponentsSegmenter(), text_backend="failing")
        for _ in range(3):
            with pytest.raises(ClipLoadError, match="offline"):
                session.select_text(result, "a square")
        assert FailingEmbedders.calls == 1
        session.clip_model = "another"  # new settings: try again
        with pytest.raises(ClipLoadError):
            _ = session.embedder
        assert FailingEmbedders.calls == 2
    finally:
        pm.unregister(name="failing-test")


# -- weights ---------------------------------------------------------------------------------------


def test_a_model_yaml_is_refused_unless_an_untrained_model_is_asked_for(tmp_path):
    yaml = tmp_path / "yolov8n-seg.yaml"
    yaml.write_text("nc: 1\n")
    with pytest.raises(ModelLoadError, match="YAML.*untrained"):
        FastSAMSegmenter(yaml, device="cpu")


@pytest.mark.parametrize(
    "kwargs", [{"imgsz": 0}, {"imgsz": -5}, {"imgsz": 100000}, {"conf": 2}, {"conf": float("nan")},
               {"iou": -1}, {"max_det": 0}]
)
def test_everything_params_out_of_range_are_usage_errors(kwargs):
    with pytest.raises(UsageError, match=next(iter(kwargs))):
        EverythingParams(**kwargs)


# -- errors ---------------------------------------------------------------------------------------


def test_only_project_errors_count_as_user_mistakes():
    assert issubclass(ImageError, FastSAMError) and issubclass(PromptError, ValueError)
    for bug in (ValueError("numpy broke"), MemoryError(), IndexError(), TypeError()):
        assert not isinstance(bug, USER_ERRORS)


def test_an_unexpected_error_keeps_its_traceback_in_a_log(tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_FASTSAM_LOG_DIR", str(tmp_path / "logs"))
    try:
        np.zeros(3)[5]
    except IndexError as exc:
        path = log_unexpected(exc, "segment a.tif")
        line = describe_unexpected(exc, path)
    text = path.read_text()
    assert "Traceback" in text and "IndexError" in text and "segment a.tif" in text
    assert str(path) in line and "IndexError" in line


def test_after_an_interrupt_finalizer_errors_go_to_the_log_not_the_terminal(tmp_path, monkeypatch, capsys):
    import gc
    import sys

    from fastsam_plugin.errors import ENV_LOG_DIR, log_finalizer_errors

    monkeypatch.setenv(ENV_LOG_DIR, str(tmp_path))
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)  # put back after the test

    class HalfBuilt:  # as a library object whose constructor Ctrl-C interrupted
        def __del__(self):
            raise AttributeError("'HalfBuilt' object has no attribute 'images_to_write'")

    log_finalizer_errors("segment, interrupted")
    HalfBuilt()
    gc.collect()
    assert "Traceback" not in capsys.readouterr().err
    (log,) = tmp_path.glob("error-*.log")
    assert "images_to_write" in log.read_text() and "segment, interrupted" in log.read_text()


# -- one session, two threads -----------------------------------------------------------------------


class SlowSegmenter(ComponentsSegmenter):
    def __init__(self):
        super().__init__()
        self.inside, self.release = threading.Event(), threading.Event()

    def segment(self, image, **params):
        self.inside.set()
        assert self.release.wait(20)
        return super().segment(image, **params)


def test_prompts_and_cache_calls_do_not_wait_for_a_running_segmentation():
    seg = SlowSegmenter()
    session = Session(segmenter=seg)
    img = np.zeros((60, 80, 3), np.uint8)
    img[10:30, 10:30] = 200
    seg.release.set()
    first = session.segment(img, key="a")
    seg.release.clear()
    seg.inside.clear()
    worker = threading.Thread(target=session.segment, args=(img,), kwargs={"key": "b"})
    worker.start()
    try:
        assert seg.inside.wait(20)  # the worker is now inside the model
        t0 = time.perf_counter()
        sel = session.select_points(first, np.array([[15, 15]]), np.array([1]))
        assert session.segmenter is seg  # reading the loaded backend does not wait either
        assert session.cached("a") is first
        session.invalidate("a")
        assert session.cached("a") is None
        assert time.perf_counter() - t0 < 5  # did not wait for the worker
        assert sel.sum() == 400
    finally:
        seg.release.set()
        worker.join(20)
    assert session.cached("b") is not None


def test_invalidating_from_one_thread_while_another_fills_the_cache():
    session = Session(segmenter=ComponentsSegmenter(), cache_size=4)
    img = np.zeros((32, 32, 3), np.uint8)
    img[4:9, 4:9] = 255
    errors: list[BaseException] = []
    stop = threading.Event()

    def fill():
        try:
            for i in range(300):
                session.segment(img, key=("layer", i))
        except BaseException as exc:  # noqa: BLE001 - the test reports any failure of the worker
            errors.append(exc)
        finally:
            stop.set()

    worker = threading.Thread(target=fill)
    worker.start()
    while not stop.is_set():
        session.invalidate(lambda k: isinstance(k, tuple) and k[1] % 2 == 0)
    worker.join()
    assert not errors
    assert len(session._cache) <= 4


def test_image_options_carry_the_channel_axis():
    data = np.zeros((3, 64, 64), np.uint8)
    data[0, 10:20, 10:20] = 255
    session = Session(segmenter=ComponentsSegmenter(), image_options=ImageOptions(channels_axis=0))
    result = session.segment(data)
    assert result.shape == (64, 64) and len(result) == 1
