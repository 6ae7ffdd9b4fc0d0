"""A kernel that raises for some inputs, to show how the shared library reports it."""

from __future__ import annotations

from typing import Any

import numba


@numba.njit(nogil=True)
def share(total: Any, parts: Any, out: Any) -> Any:
    """out[0] = total // parts (ZeroDivisionError when parts is 0); returns out[0]."""
    out[0] = total // parts
    return out[0]
