"""`python -m plexsync <task>`: the standalone command line (see plexsync/cli.py)."""

import sys

from plexsync.tasks.cli import main

sys.exit(main(sys.argv[1:]))
