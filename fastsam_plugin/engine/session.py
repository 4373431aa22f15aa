"""The one object the faces (napari widgets, CLI) talk to.

A :class:`Session` owns the backends, runs everything mode once per
(image, slice, parameters) and answers prompts on the cached result with the
rules of :mod:`mask_selectors`, applied to the stored box-cropped masks
(:mod:`mask_selectors.crops`): a point reads one pixel of each crop whose box
holds it, a box counts pixels only where it overlaps a crop, and painting
touches only the chosen crops. Answers equal the rules on the full masks; no
prompt copies candidate masks.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
from mask_selectors import (
    SelectorInputError,
    TextMatches,
    check_points,
    crop_pictures,
    normalize_boxes,
    paint_crops,
    select_by_boxes_in_crops,
    select_by_points_in_crops,
    select_by_text,
    smooth_mask,
    split_at_narrowings,
    stitch_labels,
)

from ..errors import FastSAMError
from .backends import create_embedder, create_segmenter
from .measure import measure, object_scores
from .model import DEMO_PARAMS, EverythingParams
from .operating_point import (
    CHECKPOINT_KEY,
    UserChoice,
    checkpoint_record,
    model_bands,
    model_input_form,
    model_scale,
    resolve,
)
from .pipeline import ImageOptions, ScaleOptions, TileOptions, segment_image, segment_stack, stack_labels
from .progress import CancelCheck, ProgressCallback
from .result import SegmentationResult
from .scale import ModelScale


class PromptError(FastSAMError, ValueError):
    """A prompt that cannot be answered (for example, text with no text model)."""


@contextmanager
def _prompt_errors() -> Iterator[None]:
    """Report a malformed prompt (the selectors' input errors) as :class:`PromptError`."""
    try:
        yield
    except SelectorInputError as exc:
        raise PromptError(str(exc)) from None


class Session:
    """Everything mode with caching, plus point, box and text prompts.

    Parameters
    ----------
    weights : str
        Segmenter weights (``"demo"``, ``"FastSAM-s"``, ``"FastSAM-x"`` or a path).
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"``.
    clip_model, clip_pretrained : str, optional
        Text model (``"ViT-B-32"``/``"openai"`` by default, or ``"demo"``).
    backend, text_backend : str
        Names registered through the pluggy hooks.
    choice : UserChoice, optional
        The settings the user set explicitly (imgsz, conf, iou, max_det, object size); everything
        else is the weights' operating point (:func:`~fastsam_plugin.engine.operating_point.resolve`:
        the demo's 416/0.25, a trained checkpoint's record once loaded, else FastSAM's 1024/0.4).
        :attr:`params` reads back what is used.
    params : EverythingParams, optional
        Fix every everything-mode setting instead (``UserChoice.fixed(params)``; a replayed record).
    image_options, tiling
        Image and tiling settings; with the resolved params, part of the cache key.
    cache_size : int
        How many results are kept.
    allow_untrained : bool
        Let ``weights`` be a model YAML (a random network: pipeline tests only).
    trust : bool, optional
        Load segmenter weights that the checkpoint safety scan refuses (only
        for files the user trusts; ``None`` reads
        ``$NAPARI_FASTSAM_TRUST_CHECKPOINTS``). See SECURITY.md.

    Notes
    -----
    One session may be shared by a GUI thread and a worker thread. Model work
    (loading, everything mode, CLIP) is serialised by one lock; the caches
    have their own short lock, so :meth:`cached`, :meth:`invalidate` and the
    point/box prompts never wait for a running segmentation.
    A CLIP model that failed to load is remembered: later text prompts raise
    the same :class:`~fastsam_plugin.engine.clip.ClipLoadError` at once
    instead of retrying (a new Session, or new ``clip_*`` settings, retries).
    """

    def __init__(
        self,
        weights: str | None = None,
        device: str = "auto",
        clip_model: str = "ViT-B-32",
        clip_pretrained: str | None = None,
        *,
        backend: str = "fastsam",
        text_backend: str = "open_clip",
        params: EverythingParams | None = None,
        image_options: ImageOptions = ImageOptions(),
        tiling: TileOptions = TileOptions(),
        cache_size: int = 16,
        segmenter=None,
        embedder=None,
        allow_untrained: bool = False,
        trust: bool | None = None,
        object_size: float | None = None,
        choice: UserChoice | None = None,
    ) -> None:
        self.weights, self.device = weights, device
        self.clip_model, self.clip_pretrained = clip_model, clip_pretrained
        self.backend, self.text_backend = backend, text_backend
        if params is not None and choice is not None:
            raise TypeError("give params (every setting fixed) or choice (the user's settings), not both")
        choice = UserChoice.fixed(params) if params is not None else (choice or UserChoice())
        self.choice = choice if object_size is None else replace(choice, object_size=object_size)
        self._record: dict | None = None  # the loaded checkpoint's record (operating point), once loaded
        self.image_options, self.tiling = image_options, tiling
        self._segmenter, self._embedder = segmenter, embedder
        self._cache: OrderedDict[Hashable, SegmentationResult] = OrderedDict()
        # crop embeddings per result: a second text query runs only the text encoder
        self._crop_embeddings: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cache_size = cache_size
        self.allow_untrained = allow_untrained
        self.trust = trust
        self._model_lock = threading.RLock()  # loading and running models
        self._cache_lock = threading.RLock()  # the two caches (held briefly)
        self._embedder_failure: tuple[tuple, BaseException] | None = None
        self._model_bands: tuple[int, ...] | None = None
        self._model_scale = model_scale(weights)
        self._input_form = model_input_form(weights)

    # -- backends ---------------------------------------------------------
    @property
    def segmenter(self):
        """The segmentation backend, loaded on first use."""
        if self._segmenter is not None:  # loaded: no lock, so the GUI thread never waits for a running model
            return self._segmenter
        with self._model_lock:
            if self._segmenter is None:
                extra = {"allow_untrained": True} if self.allow_untrained else {}
                if self.trust is not None:
                    extra["trust"] = self.trust
                self._segmenter = create_segmenter(self.backend, weights=self.weights, device=self.device, **extra)
                checkpoint = getattr(getattr(self._segmenter, "model", None), "ckpt", None)
                self._record = {CHECKPOINT_KEY: checkpoint_record(checkpoint)}  # not the whole checkpoint
                self._model_bands = model_bands(checkpoint)
                self._model_scale = model_scale(self.weights, checkpoint)
                self._input_form = model_input_form(self.weights, checkpoint)
            return self._segmenter

    @property
    def model_bands(self) -> tuple[int, ...] | None:
        """The 1-based bands the segmenter was trained on (its record; loads it), or None for plain RGB.

        A raw image with more than 3 channels and no channel choice is shown to the model in these
        bands (:meth:`ImageOptions.for_image`); the user's ``channels`` always win.
        """
        self.segmenter  # noqa: B018 (loads the weights and reads their record)
        return self._model_bands

    def use_text_model(self, clip_model: str, clip_pretrained: str | None) -> None:
        """Switch the text model (loaded on the next text prompt); the segmentation results stay cached.

        Call it between runs (not while a text prompt runs in another thread).
        """
        if (clip_model, clip_pretrained) == (self.clip_model, self.clip_pretrained):
            return
        self.clip_model, self.clip_pretrained = clip_model, clip_pretrained
        self._embedder = None
        with self._cache_lock:
            self._crop_embeddings.clear()  # embeddings of another model

    def is_loaded(self, part: str) -> bool:
        """Whether the ``"segmenter"`` or the ``"embedder"`` has loaded (never loads: for "loading..." notes)."""
        return (self._segmenter if part == "segmenter" else self._embedder) is not None

    @property
    def loaded_model_bands(self) -> tuple[int, ...] | None:
        """:attr:`model_bands` if the segmenter has loaded, else None (never loads: for previews)."""
        return self._model_bands

    @property
    def input_form(self) -> str | None:
        """How the weights want stained colour images (``"hematoxylin"``, ``"rgb"``, or None: not said)."""
        return self._input_form

    def _image_options(self) -> ImageOptions:
        """The user's image options plus the loaded model's bands and stain form (where the user left them)."""
        options = self.image_options
        if self._model_bands is not None and options.model_bands is None:
            options = replace(options, model_bands=self._model_bands)
        if self._input_form is not None and options.stain is None:
            options = replace(options, stain=self._input_form)
        return options

    @property
    def embedder(self):
        """The text-embedding backend, loaded on first use."""
        if self._embedder is not None:
            return self._embedder
        with self._model_lock:
            if self._embedder is None:
                settings = (self.text_backend, self.clip_model, self.clip_pretrained, self.device)
                if self._embedder_failure is not None and self._embedder_failure[0] == settings:
                    raise self._embedder_failure[1]  # reported once per session, not retried per image
                try:
                    self._embedder = create_embedder(
                        self.text_backend, model=self.clip_model, pretrained=self.clip_pretrained, device=self.device
                    )
                except FastSAMError as exc:
                    self._embedder_failure = (settings, exc)
                    raise
            return self._embedder

    # -- settings: the user's choice, resolved once against the weights ----
    @property
    def params(self) -> EverythingParams:
        """The everything-mode settings used: the weights' operating point with the user's :attr:`choice` on top.

        Before the weights load, a checkpoint file's record is not known yet (a named model's is); every
        run loads them first, so results always use the resolved settings.
        """
        return resolve(self.weights, self._record, self.choice)

    @params.setter
    def params(self, params: EverythingParams) -> None:
        """Fix every everything-mode setting (the object size stays the user's)."""
        self.choice = UserChoice.fixed(params, self.choice.object_size)

    def choose(self, **settings) -> EverythingParams:
        """Change some of the user's settings (``imgsz=``, ``conf=``, ``iou=``, ``max_det=``, ``object_size=``;
        ``None`` gives one back to the weights); returns the settings now used (loads the weights)."""
        self.choice = replace(self.choice, **settings)
        self.segmenter  # noqa: B018 (a checkpoint's record is part of the answer)
        return self.params

    @property
    def object_size(self) -> float | None:
        """The user's typical object diameter in pixels (engine/scale.py), or None (pixel size, else estimate)."""
        return self.choice.object_size

    @object_size.setter
    def object_size(self, size: float | None) -> None:
        self.choice = replace(self.choice, object_size=size)

    @property
    def model_scale(self) -> ModelScale | None:
        """The scale the segmenter was trained at (named model or checkpoint record), or None."""
        return self._model_scale

    def scale_options(self, pixel_size: float | None = None, unit: str | None = None) -> ScaleOptions:
        """The scale rule's inputs for an image with this pixel size (see :mod:`fastsam_plugin.engine.scale`)."""
        return ScaleOptions(self._model_scale, pixel_size, unit, self.object_size)

    def scale_plan(self, hw: tuple[int, int], pixel_size: float | None = None, unit: str | None = None):
        """How an image of height and width ``hw`` would be brought to the model (loads it): a ScalePlan or None."""
        self.segmenter  # noqa: B018 (its record holds the scale)
        return self.scale_options(pixel_size, unit).plan(hw, self.params.imgsz)

    # -- everything mode --------------------------------------------------
    def _key(self, key: Hashable) -> Hashable:
        # the image's pixel size belongs to the image, which the caller's key names; the session's scale settings
        # (the model's record, the user's object size) are part of the key like the other settings
        return (key, self.params, self._image_options(), self.tiling, self._model_scale, self.object_size)

    def cached(self, key: Hashable) -> SegmentationResult | None:
        """The cached result for ``key`` under the current settings, if any."""
        with self._cache_lock:
            return self._cache.get(self._key(key))

    def invalidate(self, key: Hashable | Callable[[Hashable], bool] | None = None) -> None:
        """Forget results for ``key`` under any settings; a callable selects the keys to forget; None forgets all."""
        with self._cache_lock:
            if key is None:
                self._cache.clear()
                return
            match = key if callable(key) else (lambda k: k == key)
            for k in [k for k in self._cache if match(k[0])]:
                del self._cache[k]

    def segment(
        self,
        image: np.ndarray,
        key: Hashable | None = None,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
        pixel_size: float | None = None,
        unit: str | None = None,
    ) -> SegmentationResult:
        """Everything mode on a 2D image, cached under ``key`` when one is given.

        The caller owns the key: change it (or call :meth:`invalidate`) when the
        image data (or its pixel size) changes. Settings are part of the cache key automatically.
        ``pixel_size``/``unit`` (e.g. ``0.6, "m"``) bring the image to the model's
        recorded scale (:mod:`fastsam_plugin.engine.scale`); ``result.scale_plan`` says what was done.
        """
        self.segmenter  # noqa: B018 (loaded first: its operating point and bands are part of the key)
        scale = self.scale_options(pixel_size, unit)
        full_key = self._key(key)
        with self._cache_lock:
            if key is not None and (hit := self._cache.get(full_key)) is not None:
                self._cache.move_to_end(full_key)
                return hit
        with self._model_lock:
            result = segment_image(
                self.segmenter,
                image,
                params=self.params,
                image_options=self._image_options(),
                tiling=self.tiling,
                scale=scale,
                progress=progress,
                cancel=cancel,
            )
        if key is not None:
            with self._cache_lock:
                self._cache[full_key] = result
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return result

    def segment_stack(
        self,
        stack: np.ndarray,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
        pixel_size: float | None = None,
        unit: str | None = None,
    ) -> list[SegmentationResult]:
        """Everything mode on every slice of a ``(Z, H, W[, C])`` stack, each slice brought to scale alike."""
        with self._model_lock:
            return segment_stack(
                self.segmenter,
                stack,
                params=self.params,
                image_options=self._image_options(),
                tiling=self.tiling,
                scale=self.scale_options(pixel_size, unit),
                progress=progress,
                cancel=cancel,
            )

    # -- prompts ----------------------------------------------------------
    @staticmethod
    def select_points(
        result: SegmentationResult, points: np.ndarray, labels: np.ndarray | None = None, *, smooth: bool = False
    ) -> np.ndarray:
        """FastSAM's point rule on a result.

        Parameters
        ----------
        points : (P, 2) float
            ``(x, y)`` image pixels.
        labels : (P,) int
            1 foreground, 0 background.
        smooth : bool
            Close then open the merged mask (:func:`mask_selectors.smooth_mask`).

        Returns
        -------
        selection : (H, W) bool
        """
        with _prompt_errors():
            xy = check_points(points, result.shape)  # the one rule: a point outside the image is an error
        lab = np.ones(len(xy), int) if labels is None else np.asarray(labels).reshape(-1)
        if lab.shape != (len(xy),):
            raise PromptError(f"labels must have one entry per point ({len(xy)}); got shape {lab.shape}.")
        fg = lab == 1
        if not (fg | (lab == 0)).all():
            raise PromptError(f"point labels must be 1 (foreground) or 0 (background); got {np.unique(lab).tolist()}.")
        if len(result) == 0:
            return np.zeros(result.shape, bool)
        # hit tests read the stored crops (checked once per result); only the masks holding a point are painted
        crops, boxes = result.checked_crops
        selection = select_by_points_in_crops(crops, boxes, result.shape, xy, fg, areas=result.areas, checked=True)
        return smooth_mask(selection) if smooth else selection

    @staticmethod
    def select_boxes(result: SegmentationResult, boxes: np.ndarray) -> np.ndarray:
        """FastSAM's box rule: for each ``(x0, y0, x1, y1)`` box the mask with the highest IoU.

        Returns
        -------
        indices : (B,) int64
            Object index per box, or -1 when no mask touches the box.
        """
        with _prompt_errors():
            norm = normalize_boxes(boxes, result.shape)
        if len(result) == 0:
            return np.full(len(norm), -1, np.int64)
        # IoU from the overlap of each touching crop with the box only
        crops, pix = result.checked_crops
        return select_by_boxes_in_crops(crops, pix, result.shape, norm, areas=result.areas, checked=True)

    def select_text(self, result: SegmentationResult, text: str | list[str], *, top_k: int = 1) -> TextMatches:
        """Rank objects by CLIP similarity of their crop to ``text``.

        Crop embeddings are cached per result (by ``result.uid``), so a second
        query runs only the text encoder.
        """
        if result.image is None:
            raise PromptError("this result holds no image; text prompts need the picture the model saw.")
        texts = [text] if isinstance(text, str) else list(text)
        if not texts or any(not isinstance(t, str) or not t.strip() for t in texts):
            raise PromptError(f"text prompts must be non-empty strings; got {texts!r}.")
        with self._cache_lock:
            cached = self._crop_embeddings.get(result.uid)
        if cached is None:
            # pictures cut straight from the stored crops (no per-object mask stack)
            pictures = crop_pictures(result.image, result.crops, result.pixel_boxes, areas=result.areas)
            crops, indices = pictures.crops, pictures.indices
            if not crops:
                raise PromptError("no object is large enough (more than 100 pixels) to match against text.")
            with self._model_lock:
                cached = (self.embedder.encode_images(crops), np.asarray(indices))
            with self._cache_lock:
                self._crop_embeddings[result.uid] = cached
                while len(self._crop_embeddings) > self._cache_size:
                    self._crop_embeddings.popitem(last=False)
        emb, indices = cached
        with self._model_lock:
            text_emb = self.embedder.encode_text(texts)
        with _prompt_errors():
            return select_by_text(emb, text_emb, indices, top_k=top_k)

    @classmethod
    def selection_labels(
        cls, result: SegmentationResult, indices: np.ndarray, *, smooth: bool = False, first_on_top: bool = False
    ) -> np.ndarray:
        """(H, W) int32 with object ``indices[k]`` painted as id ``k + 1`` (negative indices skipped).

        Later ids are painted over earlier ones, or earlier over later with
        ``first_on_top`` (a ranking: id 1, the best match, stays visible).
        """
        out = np.zeros(result.shape, np.int32)
        order = list(enumerate(np.ravel(indices), start=1))
        if first_on_top:
            order.reverse()
        if not smooth:  # paint each chosen crop in place, no full-size mask per object
            crops, boxes = result.checked_crops
            return paint_crops(out, crops, boxes, [i for _, i in order], [k for k, _ in order], checked=True)
        for k, i in order:
            if i >= 0:
                out[cls.union_mask(result, [i], smooth=smooth)] = k
        return out

    @staticmethod
    def union_mask(result: SegmentationResult, indices: np.ndarray, *, smooth: bool = False) -> np.ndarray:
        """(H, W) bool union of objects ``indices`` (negative indices ignored)."""
        idx = np.asarray([i for i in np.ravel(indices) if i >= 0], dtype=np.int64)
        out = np.zeros(result.shape, bool)
        for i in idx:
            x0, y0, x1, y1 = result.pixel_boxes[i]
            out[y0:y1, x0:x1] |= result.crops[i]
        return smooth_mask(out) if smooth and len(idx) else out

    # -- stacks and measurements --------------------------------------------
    @staticmethod
    def stitch(results: list[SegmentationResult], threshold: float = 0.25, split: float | None = None) -> np.ndarray:
        """3D labels (or tracks over time) from per-slice results: objects of consecutive slices
        whose masks overlap with IoU above ``threshold`` share one id (:func:`mask_selectors.stitch_labels`).

        ``split`` (e.g. 0.5; for Z stacks, not tracks) then cuts linked objects at a waist narrower
        than ``split`` times both sides (:func:`mask_selectors.split_at_narrowings`): objects stacked
        along Z that the linking joined.

        Returns
        -------
        labels : (Z, H, W) int32
        """
        labels = stitch_labels(stack_labels(results), threshold)
        return split_at_narrowings(labels, split) if split else labels

    @staticmethod
    def measure(
        objects: SegmentationResult | np.ndarray,
        image: np.ndarray | None = None,
        *,
        results: SegmentationResult | list[SegmentationResult] | None = None,
        spacing: tuple[float, ...] | None = None,
        unit: str = "µm",
        channel_names: tuple[str, ...] | None = None,
    ):
        """Measurement table (pandas DataFrame), one row per object; see :func:`fastsam_plugin.engine.measure.measure`.

        Parameters
        ----------
        objects : SegmentationResult or (H, W) / (Z, H, W) int labels
            A result is measured as its label image (``result.labels()``).
        image : array, optional
            The original image, channels last, for the intensity columns.
        results : SegmentationResult or list, optional
            Where the scores of label-array ``objects`` come from (per slice for stacks).
        spacing, unit, channel_names
            Physical pixel size per axis of the labels and its unit; names of the channels.
        """
        if isinstance(objects, SegmentationResult):
            labels, results = objects.labels(), objects
        else:
            labels = np.asarray(objects)
        scores = object_scores(labels, results) if results is not None else None
        return measure(labels, image, spacing=spacing, unit=unit, scores=scores, channel_names=channel_names)


def demo_session(device: str = "auto") -> Session:
    """A session on the bundled demo segmenter and demo CLIP, at the demo's operating point."""
    return Session("demo", device, clip_model="demo", params=DEMO_PARAMS)
