"""PlexSync entrypoint: Stash runs this once per hook event and once per task (PlexSync.yml).

Everything it does is in `plexsync/__main__.py`, which Python loads from its bytecode cache; a
script is compiled from source on every run, so this one stays a few lines.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from plexsync.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
