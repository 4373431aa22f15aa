"""The controller: displayed slice, cache keys per data version, busy signal."""

import numpy as np

from .conftest import wait_idle


def test_slice_index_follows_the_dims_slider(dock):
    image = dock.viewer.add_image(np.zeros((4, 32, 40), np.uint16))
    c = dock.controller
    c.image.value = image
    assert c.slice_index(image) == (dock.viewer.dims.current_step[0],)
    dock.viewer.dims.set_current_step(0, 3)
    assert c.slice_index(image) == (3,)
    flat = dock.viewer.add_image(np.zeros((32, 40), np.uint8))
    assert c.slice_index(flat) == ()


def test_key_changes_when_the_image_data_is_replaced(dock):
    image = dock.viewer.add_image(np.zeros((32, 40), np.uint8))
    c = dock.controller
    before = c.key(image, ())
    image.data = np.ones((32, 40), np.uint8)
    assert c.key(image, ()) != before and c.version(image) == 1


def test_busy_signal_brackets_a_run(segmented, qtbot):
    dock, _ = segmented
    seen = []
    dock.controller.busy_changed.connect(seen.append)
    dock.controller.session().invalidate()
    dock.everything.run()
    assert not dock.everything.run_button.enabled and not dock.text.find.enabled
    wait_idle(qtbot, dock)
    # one bracket around the run and the objects' measurement that follows it in a worker of its own
    assert seen == [True, False]
    assert "measured" in dock.status.value
    assert dock.everything.run_button.enabled and dock.text.find.enabled


def test_plugin_layers_are_not_offered_as_images(segmented):
    dock, image = segmented
    dock.everything.show_edges()
    assert dock.controller.image.choices == (image,)


def test_the_first_run_after_a_model_change_uses_the_panels_imgsz_and_conf(dock):
    # the weights load on the first run; their operating point must not replace what the user set before it
    dock.model.imgsz.value, dock.model.conf.value = 288, 0.15
    session = dock.controller.session()
    session.segment(np.zeros((32, 40, 3), np.uint8) + 1)  # loads the demo weights
    assert (session.params.imgsz, session.params.conf) == (288, 0.15)
