"""`python -m sfzsync.operations`: see `sfzsync.operations.cli`."""

import os
import sys

# An operator reads the commands' own lines; the package's INFO logs would drown them (set the variable to see them).
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from sfzsync.operations.cli import main

sys.exit(main())
