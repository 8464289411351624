"""Site-packages on demand: Stash starts PlexSync with `python -S` (PlexSync.yml).

The hook and the page's status operation need only the standard library, and skipping `site`
takes milliseconds off every save (docs/performance.md). Anything that imports a third-party
package (plexapi, stashapi, filelock, diskcache, requests) calls `load()` first: the tasks do it
once at the entrypoint, and the hook's rare paths that take a `filelock` (a damaged file moved
aside) do it where they import it.
"""

from __future__ import annotations

import sys

_loaded = False


def load() -> None:
    """What `-S` skipped: site-packages on sys.path, `.pth` files, sitecustomize. Idempotent;
    a no-op when Python was started without `-S` (a shell, the wake-up timer)."""
    global _loaded
    if _loaded or not sys.flags.no_site:
        return
    import site

    site.main()
    _loaded = True
