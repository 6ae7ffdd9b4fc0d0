"""Tables that grow in place as batches arrive, each row written once.

A capture's size is known before its frames are: after the first batch, the rows it held per
byte read give an estimate for the whole capture, and that many rows are reserved at once.
A reservation is `np.empty`: the allocator maps it lazily, so rows that are never written
cost address space, not memory, and nothing is zero-filled (numpy's `resize` zero-fills the
new rows, which touches every page once more before the kernel writes it).

Always holds: `finish()` returns exactly the rows extended, in order; a view handed out by
`extend` stays valid until the next `extend`/`reserve` call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

SLACK = 1.08
"""Reserve this much more than the estimate: capture mixes drift from their first batch."""


class Growing:
    """A table (or column) of one dtype grown by `extend`/`append`, read at `finish` (the
    rows held so far; with `trim=False` a view, valid until the next `extend`/`reserve`)."""

    def __init__(self, dtype: np.dtype[Any]) -> None:
        self.array: npt.NDArray[Any] = np.empty(0, dtype=dtype)
        self.size = 0

    @property
    def capacity(self) -> int:
        """Rows held or reserved: `extend` moves the rows only beyond this."""
        return int(self.array.shape[0])

    def reserve(self, rows: int) -> None:
        """Make room for `rows` rows in all (no effect when there already is)."""
        if rows > self.array.shape[0]:
            grown = np.empty(rows, dtype=self.array.dtype)
            if self.size:
                grown[: self.size].view(np.uint8)[:] = self.array[: self.size].view(np.uint8)
            self.array = grown

    def spare(self, count: int) -> npt.NDArray[Any]:
        """Room for up to `count` more rows, not yet held: a writer that does not know how
        many it will write fills the view from its start, then `keep`s that many (the
        view is valid until the next call)."""
        need = self.size + count
        if need > self.array.shape[0]:
            self.reserve(max(need, self.array.shape[0] + self.array.shape[0] // 2))
        return self.array[self.size : need]

    def keep(self, count: int) -> None:
        """Hold the first `count` rows of the last `spare` view."""
        self.size += count

    def truncate(self, count: int) -> None:
        """Hold only the first `count` rows (a writer that compacted them in place)."""
        self.size = min(self.size, count)

    def extend(self, count: int) -> npt.NDArray[Any]:
        """Room for `count` more rows; returns them (a view valid until the next call)."""
        view = self.spare(count)
        self.keep(count)
        return view

    def append(self, rows: npt.NDArray[Any]) -> None:
        """Copy `rows` after the rows already held (as bytes: numpy copies packed records
        field by field otherwise)."""
        target = self.extend(rows.shape[0])
        target.view(np.uint8)[:] = np.ascontiguousarray(rows).view(np.uint8)

    def finish(self, trim: bool = True) -> npt.NDArray[Any]:
        """The rows held: a view of the reservation when it was close or `trim` is False,
        else a trimmed copy (so a reservation far above the truth does not stay mapped;
        the copy needs the rows' memory twice for a moment)."""
        if not trim or self.size * 2 >= self.array.shape[0]:
            return self.array[: self.size]
        return self.array[: self.size].copy()


def estimate_rows(rows_seen: int, bytes_seen: int, bytes_in_all: int) -> int:
    """Rows a capture of `bytes_in_all` bytes will need, from the first `rows_seen` rows
    taken from its first `bytes_seen` bytes."""
    if rows_seen <= 0 or bytes_seen <= 0 or bytes_in_all <= bytes_seen:
        return rows_seen
    return int(rows_seen * (bytes_in_all / bytes_seen) * SLACK) + 1024
