"""The data directory (docs/design.md#state-files) and the small JSON state files kept in it.

Invariants:
- The directory is `$PLEXSYNC_DATA_DIR`, else `<PluginDir>/data`; created owner-only (0700),
  and an existing one that others may read or enter is made owner-only with a warning. A path
  that is a file or a symlink to nothing is a `ConfigError` saying how to fix it.
- `write_atomic` is the ONE way a state file is written (JSON here, the breaker's and the
  timer's files, the device id): a temp file created with O_EXCL under a random name in the
  same folder, mode 0600 whatever the umask, fsync, rename, fsync of the folder. A reader sees
  the old or the new content, never half of it; a file planted under a predictable name is
  never written through. Writers that read-modify-write hold `locked()`.
- A corrupt or truncated file is moved aside (`<name>.corrupt-<epoch>`) with a warning and the
  caller gets its default: bad state never stops the plugin and never costs the other files.

Imported by the hook path: standard library only at import time (`filelock` is imported lazily).
"""

from __future__ import annotations

import os
import time

from plexsync.core import fastjson as json
from plexsync.core.log import log
from plexsync.errors import ConfigError

# `typing` costs milliseconds at import and this module is on the hook path
# (docs/design.md#hook-budget);
# mypy treats any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from filelock import FileLock

# The plugin folder: the one holding PlexSync.yml, plexsync.py and this package.
PLUGIN_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV_VAR = "PLEXSYNC_DATA_DIR"
DB_NAME = "plexsync.db"
SETTINGS_SNAPSHOT = "settings-snapshot.json"
DEVICE_ID = "device-id"


def _uuid4() -> str:
    import uuid  # lazily: `uuid` imports `platform`, too slow for the hook path

    return str(uuid.uuid4())


def resolve(plugin_dir: str | None = None) -> str:
    """Return the data directory, creating it owner-only if needed (see the invariants)."""
    path = os.environ.get(ENV_VAR) or os.path.join(
        plugin_dir or PLUGIN_ROOT, "data"
    )
    if not os.path.isdir(path):
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
        except OSError as exc:
            what = ("is a symlink to a folder that does not exist"
                    if os.path.islink(path) and not os.path.exists(path) else
                    "is a file, not a folder" if os.path.exists(path) else
                    f"cannot be created ({exc.strerror or type(exc).__name__})")
            raise ConfigError(f"PlexSync's data folder {path} {what}; point {ENV_VAR} at a "
                              "folder PlexSync may create or write (or unset it to use the "
                              "plugin's data folder).") from None
    owner_only(path)
    return path


def owner_only(folder: str) -> None:
    """Make `folder` 0700 if group or others have any access to it, with a warning (POSIX)."""
    if os.name == "nt":
        return
    mode = os.stat(folder).st_mode & 0o777
    if mode & 0o077:
        try:
            os.chmod(folder, 0o700)
        except OSError as exc:
            log.warning(f"PlexSync's data folder {folder} is open to other users (mode "
                        f"{mode:o}) and could not be made owner-only ({exc.strerror}); run "
                        f"chmod 700 on it.")
            return
        log.warning(f"PlexSync's data folder {folder} was open to other users (mode {mode:o}); "
                    "made it owner-only (700), as it holds the wake-up timer's credentials.")


def move_aside(path: str, reason: str) -> str:
    """Rename a damaged file out of the way; returns its new name."""
    target = f"{path}.corrupt-{int(time.time())}"
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return target
    log.warning(f"PlexSync state file {os.path.basename(path)} was unreadable ({reason}); "
                f"moved it aside as {os.path.basename(target)} and started it afresh.")
    return target


def read_bytes(path: str) -> bytes | None:
    """THE read of a state file (breaker.json, wake-timer.json, the timer's credentials, the
    settings snapshot, markers, the device id): its bytes, or None when it is missing.

    Any other read error (a folder in its place, no permission, an I/O error) is damage: the
    entry is moved aside with one warning (`move_aside`) and the caller rebuilds its default,
    so a damaged state file never stops a hook or a task. Content checks are the caller's
    (it calls `move_aside` for content it cannot use)."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        move_aside(path, type(exc).__name__)
        return None


def read_json(path: str, default: dict[str, Any]) -> dict[str, Any]:
    """Read a JSON object; a missing file gives `default`, a damaged one is moved aside."""
    raw = read_bytes(path)
    if raw is None:
        return dict(default)
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError as exc:   # UnicodeDecodeError included
        move_aside(path, type(exc).__name__)
        return dict(default)
    if not isinstance(data, dict):
        move_aside(path, "not a JSON object")
        return dict(default)
    return data


def write_json(path: str, data: Mapping[str, Any]) -> None:
    """Atomically replace `path` with `data` as JSON (`write_atomic`)."""
    write_atomic(path, json.dumps(dict(data), sort_keys=True).encode("utf-8"))


def write_atomic(path: str, data: bytes) -> None:
    """Atomically replace `path` with `data`, owner-only (see the module invariants)."""
    folder = os.path.dirname(path) or "."
    # O_EXCL + a random name: never opens a file someone planted (keeping its mode or owner)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.urandom(8).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o600)
    try:
        try:
            if os.name != "nt":
                os.fchmod(fd, 0o600)   # 0600 already, unless an ACL default added bits
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):  # (not contextlib.suppress: contextlib is off the hook path)
            os.unlink(tmp)
        raise
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders; the rename is still atomic
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def locked(path: str, timeout: float = 10.0) -> FileLock:
    """The cross-process lock that guards read-modify-write of `path`: `with locked(p): ...`.

    (A FileLock rather than a contextlib generator: `contextlib` is a millisecond of the hook's
    import budget, and `filelock` is imported only when a lock is actually taken.)
    """
    from plexsync.core import site_packages  # lazily, as filelock: the hook runs with -S

    site_packages.load()
    from filelock import FileLock

    return FileLock(f"{path}.lock", timeout=timeout, mode=0o600)


def device_id(data_dir: str) -> str:
    """The persistent X-Plex-Client-Identifier, so Plex sees one device, not one per run.

    A damaged file (not UTF-8, not a printable id, a folder in its place) is moved aside with a
    warning and a new id is written: it must never fail the connection set-up."""
    path = os.path.join(data_dir, DEVICE_ID)
    value = _read_id(path)
    if value:
        return value
    with locked(path):  # another process may have written it meanwhile
        value = _read_id(path)
        if value:
            return value
        value = f"plexsync-{_uuid4()}"
        write_atomic(path, value.encode("ascii"))  # a concurrent reader never sees half of it
    return value


def _read_id(path: str) -> str | None:
    """The id in `path`; None when missing, or when damaged (then moved aside)."""
    raw = read_bytes(path)   # a folder in its place is moved aside there
    if raw is None:
        return None
    try:
        value = raw[:4096].decode("utf-8").strip()
    except ValueError as exc:   # invalid UTF-8
        move_aside(path, type(exc).__name__)
        return None
    # It goes into an HTTP header: printable ASCII without spaces, of a sane length.
    if 16 <= len(value) <= 200 and value.isascii() and value.isprintable() and " " not in value:
        return value
    move_aside(path, "not a device id" if value else "empty")
    return None
