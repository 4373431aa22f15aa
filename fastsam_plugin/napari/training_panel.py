"""Fine-tune the current model on the objects accepted in napari, and export them as training sets.

Closes the loop: prompt a few objects, accept them, **Fine-tune**, and segment
the rest with the new model, which the model panel selects at once. The
training data are annotation Labels layers (the plugin's own, or labels from
Cellpose, StarDist or a hand annotation) with the image they belong to; every
annotated image or stack slice is one sample, and a part is held out to compare
the model before and after (recall at IoU 0.5, AP50). The better of the two is
kept: the fine-tuned model is selected only when it scores better on the
held-out annotations; otherwise the model panel stays on the original and the
report says so (the fine-tuned file is kept on disk either way).
"""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
from magicgui.widgets import Container, FileEdit, FloatSpinBox, Label, PushButton, Select, SpinBox
from napari.layers import Image, Labels
from napari.qt.threading import create_worker
from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import QSizePolicy

from ..engine.progress import Cancelled
from ..errors import USER_ERRORS
from .controller import Controller
from .layers import KEY, layer_uid, owned


class _EpochRelay(QObject):
    """Carries progress from the training thread to the GUI thread (queued Qt signal)."""

    epoch = Signal(int, int, object)


def wrap_anywhere(text: str) -> str:
    """``text`` with invisible break opportunities after path separators, so a long path can wrap."""
    return text.replace("/", "/\u200b").replace("\\", "\\\u200b")


def wrapping_label() -> Label:
    """A Label whose text wraps to the dock's width and never widens it (long results, paths)."""
    label = Label(value="")
    label.native.setWordWrap(True)
    # Ignored: the layout never asks for the text's one-line width, so the dock keeps the width the user gave it
    label.native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.native.setMinimumWidth(1)
    return label


def result_message(outcome) -> str:
    """What a fine-tuning run found and which model it kept, in words (a FinetuneResult)."""
    b, a = outcome.before, outcome.after
    where = "held-out" if outcome.export.val and not set(outcome.export.val) & set(outcome.export.train) \
        else "training"  # one annotated image: scored on the image it was trained on
    text = (f"{where} {len(outcome.export.val)} image(s): recall@0.5 {b['recall50']:.2f} -> {a['recall50']:.2f}, "
            f"AP50 {b['AP50']:.2f} -> {a['AP50']:.2f}. ")
    if outcome.improved:
        text += "Kept the fine-tuned model (better); it is now selected."
    else:
        text += ("Kept the original model: the fine-tuned one is not better on these annotations "
                 f"(its file: {outcome.checkpoint}). Annotate more objects or train longer, then try again.")
    return text + (f" ({outcome.export.note})" if outcome.export.note else "")


def _finetune_folder() -> Path:
    from ..engine.weights import cache_dir

    return cache_dir() / "finetuned" / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")


class TrainingPanel(Container):
    """Pick annotation layers, **Fine-tune** in a worker (progress, Cancel), or **Export** them."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.layers = Select(label="training labels", choices=self._choices)
        self.epochs = SpinBox(label="epochs", min=1, max=500, value=10)
        self.val_fraction = FloatSpinBox(label="held out", min=0.0, max=0.8, step=0.05, value=0.2)
        self.fine_tune = PushButton(text="Fine-tune on these labels")
        self.export_folder = FileEdit(label="export to", mode="d")
        self.export = PushButton(text="Export training set (YOLO + COCO)")
        self.report = wrapping_label()
        super().__init__(widgets=[self.layers, self.epochs, self.val_fraction, self.fine_tune, self.report,
                                  self.export_folder, self.export])
        self.last_result = None
        self._epochs_done = 0  # epochs finished in the current run (for the cancel message)
        self._relay = _EpochRelay()
        self._relay.epoch.connect(self._show_epoch)
        self.fine_tune.changed.connect(self.run)
        self.export.changed.connect(self.export_now)
        viewer = controller.viewer
        viewer.layers.events.inserted.connect(lambda e=None: self.layers.reset_choices())
        viewer.layers.events.removed.connect(lambda e=None: self.layers.reset_choices())
        controller.busy_changed.connect(lambda busy: setattr(self.fine_tune, "enabled", not busy))

    def _choices(self, _=None) -> list[str]:
        return [ly.name for ly in self.controller.viewer.layers
                if isinstance(ly, Labels) and (not owned(ly) or owned(ly, "annotation"))]

    def _image_of(self, labels_layer):
        """The image an annotation layer belongs to: its recorded source, else the chosen image."""
        source = labels_layer.metadata.get(KEY, {}).get("source")
        for layer in self.controller.viewer.layers:
            if isinstance(layer, Image) and source is not None and layer_uid(layer) == source:
                return layer
        return self.controller.image.value

    def samples(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Every annotated 2D image or stack slice of the chosen layers, with its labels."""
        images, labels = [], []
        for name in self.layers.value:
            layer = self.controller.viewer.layers[name]
            image = self._image_of(layer)
            if image is None:
                raise ValueError(f"'{name}': no image layer to train on; choose one in 'image'.")
            lab = np.asarray(layer.data)
            lead = lab.ndim - 2
            for index in np.ndindex(*lab.shape[:lead]) if lead else [()]:
                plane = lab[index] if index else lab
                if plane.any():
                    images.append(self.controller.plane(image, index))
                    labels.append(plane)
        if not images:
            raise ValueError("the chosen labels hold no objects: accept some objects first, or choose a labels layer.")
        return images, labels

    def run(self, _=None) -> None:
        """Fine-tune the model panel's model on the chosen annotations, in a worker."""
        from ..training.finetune import finetune

        c = self.controller
        if c.busy:
            return
        if not self.layers.value:
            c.error("Choose the annotation layer(s) to train on in 'training labels'.")
            return
        try:
            images, labels = self.samples()
            session = c.session()
        except (ValueError, *USER_ERRORS) as exc:
            c.error(str(exc))
            return
        epochs, held_out, relay = int(self.epochs.value), float(self.val_fraction.value), self._relay
        outcome: list = []  # set in the worker; read once it has finished (Cancel suppresses 'returned')
        self.report.value = ""

        def work() -> None:
            # a worker that *returns* an exception has it raised as an unexpected error by superqt: store it
            try:
                outcome.append(finetune(session, images, labels, _finetune_folder(), epochs=epochs,
                                        val_fraction=held_out, progress=lambda e, n, m: relay.epoch.emit(e, n, m),
                                        cancel=c.cancel_requested))
            except (Cancelled, *USER_ERRORS) as exc:
                outcome.append(exc)

        worker = create_worker(work, _start_thread=False)
        # connected before the controller's own 'finished' handler, so the result is shown before 'done'
        worker.finished.connect(lambda: self._finished(outcome[0] if outcome else None))
        self._epochs_done = 0
        c.start(worker, f"fine-tuning on {len(images)} annotated image(s), {epochs} epoch(s)...")

    def _show_epoch(self, epoch: int, epochs: int, metrics: dict) -> None:
        self._epochs_done = epoch
        recall = next((v for k, v in metrics.items() if "recall" in k.lower() and "(M)" in k), None)
        text = f"epoch {epoch}/{epochs}: loss {metrics.get('loss', float('nan')):.3f}"
        self.controller.status.show(text + (f", validation mask recall {recall:.2f}" if recall is not None else "")
                                    + " ...")

    def _finished(self, outcome) -> None:
        """Show how the run ended; select the fine-tuned model only when it is the better one."""
        c = self.controller
        if outcome is None:  # an unexpected error: the controller has reported it
            return
        if isinstance(outcome, Cancelled):
            self.report.value = (f"Fine-tuning cancelled after {self._epochs_done} epoch(s): "
                                 "the model is unchanged.")
            c.status.show("fine-tuning cancelled")
            return
        if isinstance(outcome, BaseException):
            c.report(outcome)
            return
        self.last_result = outcome
        self.report.value = wrap_anywhere(result_message(outcome))
        self.report.tooltip = str(outcome.checkpoint)
        if outcome.improved:
            c.model.weights.value = "file"
            c.model.weights_file.value = outcome.checkpoint  # selects it, with its recorded operating point
            c.status.show("fine-tuned: kept the fine-tuned model (better on the held-out annotations)")
        else:
            c.status.show("fine-tuned: kept the original model (the fine-tuned one is not better)")

    def export_now(self, _=None) -> None:
        """Write the chosen annotations as a YOLO-seg folder and a COCO JSON (what `napari-fastsam train` reads)."""
        from ..training.export import export_annotations

        c = self.controller
        folder = Path(str(self.export_folder.value or ""))
        if not str(self.export_folder.value or "").strip() or str(folder) in (".", ""):
            c.error("Choose a folder in 'export to' first.")
            return
        try:
            images, labels = self.samples()
            summary = export_annotations(images, labels, folder, val_fraction=float(self.val_fraction.value),
                                         channels=c.model.image_options().channels)
        except (ValueError, *USER_ERRORS) as exc:
            c.error(str(exc))
            return
        c.status.show(f"exported {len(summary.train)} training and {len(summary.val)} validation image(s) to "
                      f"{folder} (data.yaml, annotations.json)")
