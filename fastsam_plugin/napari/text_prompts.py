"""Text prompts: rank the everything-mode objects by CLIP similarity to a phrase."""

from __future__ import annotations

import numpy as np
from magicgui.widgets import Container, FloatSpinBox, LineEdit, PushButton, SpinBox

from ..engine.provenance import ObjectPrompt
from .controller import Controller, import_backends
from .quality import min_text_similarity


class TextPrompts(Container):
    """**text** + **top-k** + **Find by text**: the best ``k`` objects, id 1 = best match."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.query = LineEdit(label="text")
        self.top_k = SpinBox(label="top-k", min=1, max=20, value=1)
        self.min_similarity = FloatSpinBox(label="min similarity", min=-1.0, max=1.0, step=0.05,
                                           value=min_text_similarity(controller.model.text_model.value),
                                           tooltip="weaker matches are not selected (default: per text model)")
        self.find = PushButton(text="Find by text")
        super().__init__(widgets=[self.query, self.top_k, self.min_similarity, self.find])
        self.last_scores: list[tuple[int, float]] = []  # (object index, similarity), best first
        self.find.changed.connect(self.run)
        self.query.native.returnPressed.connect(self.run)  # Enter in the text field runs the search
        controller.model.text_model.changed.connect(
            lambda choice: setattr(self.min_similarity, "value", min_text_similarity(choice)))
        controller.busy_changed.connect(lambda busy: setattr(self.find, "enabled", not busy))

    def run(self, _=None) -> None:
        """Select the objects whose crops best match the text (CLIP), in a worker thread."""
        c = self.controller
        image, result, text = c.image.value, c.current_result(), self.query.value.strip()
        if c.busy:
            return
        if image is None or result is None:
            c.error("Run 'Segment everything' first: text prompts rank its objects.")
            return
        if not text:
            c.error("Type what to find, e.g. 'a red circle'.")
            return
        try:
            session = c.session()
        except ValueError as exc:  # a setting the engine refuses (channels): its message says the way out
            c.error(str(exc))
            return
        k, index = int(self.top_k.value), c.slice_index(image)

        def work():
            import_backends()  # open_clip and torch: never imported on the GUI thread
            return session.select_text(result, text, top_k=k)

        def show(match) -> None:
            if image not in c.viewer.layers:
                c.status.show(f"The image was removed during the run: the matches for {text!r} were discarded.")
                return
            self._show(match, image, index, text, session, result)

        # one model call: Cancel cannot stop it (Jobs says how long it may take); a failure (an offline text
        # model, ...) is said in the dock with its fix and the buttons come back at once
        c.run(work, show, f"{c.loading_message('embedder')}matching {text!r}...", kind="text",
              progress="FastSAM text")

    def _show(self, match, image, index, text, session, result) -> None:
        """Write the matches above the minimum similarity into the selection layer; say the scores."""
        c = self.controller
        self.last_scores = [(int(i), float(s)) for i, s in zip(match.indices[0], match.scores[0])]
        threshold = float(self.min_similarity.value)
        kept = [i if s >= threshold else -1 for i, s in self.last_scores]
        c.selection_prompts = [ObjectPrompt(r + 1, "text", "", text=text, rank=r, slice=list(index))
                               for r, i in enumerate(kept) if i >= 0]
        c.book.write_selection(image, index, session.selection_labels(result, np.array(kept, np.int64),
                                                                 first_on_top=True))
        if all(i < 0 for i in kept):
            c.error(f"No object matches {text!r}: best similarity {self.last_scores[0][1]:.2f} "
                    f"is below {threshold:.2f}.")
            return
        c.status.show("matches: " + ", ".join(
            f"#{r + 1} object {i} ({s:.2f})" + ("" if s >= threshold else " below the minimum: not selected")
            for r, (i, s) in enumerate(self.last_scores)))
