"""``python -m autoprov``: see autoprov.cmdline."""

import sys

from autoprov.cmdline import main

sys.exit(main())
