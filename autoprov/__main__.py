"""``python -m autoprov``: see autoprov.cli."""

import sys

from autoprov.cli import main

sys.exit(main())
