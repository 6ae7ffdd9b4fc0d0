"""Where numba keeps the compiled fast path (`native.announce` says when it compiles).

This module must run before the kernels are defined (`wiredoctor.fast` imports it first):
numba picks a function's cache directory when the function is decorated. The directory is
`__pycache__/numba-<stamp>` beside these sources when that can be written, else
`$XDG_CACHE_HOME/wiredoctor/numba/<stamp>` (default `~/.cache/...`). The stamp hashes every
source file of the package (`native.store.sources_digest`): numba checks only the entry
function's own file for staleness, and kernels read constants from modules all over the
package (record formats, table flags, verdict codes), so a change in any of them would
otherwise be served from a stale cache. It serves numba's JIT, which runs the kernels when
the compiled libraries are not used (`wiredoctor.native` builds those without it).

Always holds: a NUMBA_CACHE_DIR the user set is never overridden; nothing here raises for an
unwritable home (numba then compiles in memory every run).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

from wiredoctor.native.store import sources_digest, user_cache_base
from wiredoctor.native.store import writable as _writable

_PACKAGE_DIR = Path(__file__).resolve().parent


def user_cache_dir() -> Path:
    """The per-user numba cache directory used when the package directory is read-only."""
    return user_cache_base() / "numba"


def source_stamp() -> str:
    """A short hash of every source file of the package (place, size, modification time)."""
    return hashlib.sha256(sources_digest()).hexdigest()[:16]


PRUNE_AFTER_S = 3600
"""A cache of other sources is removed only once unused this long: a process of those
sources may still be running (numba makes a function's cache directory when the function is
decorated, and a build worker whose directory vanished fails)."""


def _prune(current: Path) -> None:
    """Remove caches of older kernel sources beside `current` (best effort)."""
    prefix = "numba-" if current.name.startswith("numba-") else ""
    now = time.time()
    for sibling in current.parent.iterdir():
        ours = sibling.name.startswith(prefix) and (
            prefix != "" or len(sibling.name) == len(current.name)
        )
        if sibling == current or not ours or not sibling.is_dir():
            continue
        try:
            idle = now - sibling.stat().st_mtime
        except OSError:
            continue
        if idle > PRUNE_AFTER_S:
            import shutil  # rarely needed: not loaded on every start

            shutil.rmtree(sibling, ignore_errors=True)


def configure() -> str | None:
    """Point numba's cache at a stamped, writable directory; returns it (None: none found)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    stamp = source_stamp()
    pycache = _PACKAGE_DIR / "__pycache__"
    if _writable(pycache):
        chosen = pycache / f"numba-{stamp}"
    else:
        chosen = user_cache_dir() / stamp
    try:
        chosen.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    _prune(chosen)
    os.environ["NUMBA_CACHE_DIR"] = str(chosen)
    numba_config = sys.modules.get("numba.core.config")
    if numba_config is not None:
        # numba was imported first (by the capture readers): its config already read the
        # environment, and a function's cache directory is fixed when it is decorated.
        numba_config.CACHE_DIR = str(chosen)  # type: ignore[attr-defined]
    return str(chosen)


CACHE_DIR = configure()


def kernel_cached(dispatcher: object) -> bool:
    """True when `dispatcher` (a numba cache=True function) is compiled or has a cache index.

    A stale index (sources changed) makes numba recompile silently: the message is then
    skipped, which errs on the quiet side.
    """
    if getattr(dispatcher, "signatures", None):
        return True
    function_cache = getattr(dispatcher, "_cache", None)
    cache_file = getattr(function_cache, "_cache_file", None)
    index_path = getattr(cache_file, "_index_path", None)
    if not isinstance(index_path, str):
        return False
    return os.path.exists(index_path)
