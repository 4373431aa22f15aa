"""The napari face: dock widgets, layer bookkeeping and npe2 contributions (sample data, writer).

The widgets translate layers into calls on one engine
:class:`~fastsam_plugin.engine.session.Session` and answers back into layers
the plugin owns; they hold no segmentation logic.
"""
