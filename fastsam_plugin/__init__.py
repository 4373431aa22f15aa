"""napari-fastsam: FastSAM everything mode and prompt-guided selection for scientific images.

Packages, from the ground up (see ``docs/architecture.md``): the standalone
``mask_selectors`` (pure selection rules), :mod:`fastsam_plugin.engine`
(models, everything mode, tiling, the :class:`~fastsam_plugin.engine.session.Session`),
:mod:`fastsam_plugin.io` (files), :mod:`fastsam_plugin.training` and
:mod:`fastsam_plugin.evaluation`, and the two faces, :mod:`fastsam_plugin.napari`
(the dock widget) and :mod:`fastsam_plugin.cli` (``napari-fastsam``).
"""

__version__ = "0.1.0"
