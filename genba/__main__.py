"""`python -m genba check --env prod` / `python -m genba drill --env dev`."""

import sys

from genba.cli import main

sys.exit(main())
