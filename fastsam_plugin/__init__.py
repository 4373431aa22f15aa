"""napari-fastsam: FastSAM everything mode and prompt-guided selection for scientific images.

Entry points: :class:`fastsam_plugin.session.Session` (Python), ``napari-fastsam``
(command line), and the napari dock widget (*Plugins > FastSAM*). The
selection rules live in the standalone ``mask_selectors`` package.
"""

__version__ = "0.1.0"
