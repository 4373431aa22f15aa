"""``python -m fastsam_plugin.cli``: the ``napari-fastsam`` command without its console script."""

import sys

from .main import main

sys.exit(main())
