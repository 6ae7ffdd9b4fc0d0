"""The frame table as the checks see it when `check` streams a capture: only the rows they
read are kept.

The checks index frames by frame-table row (`frames[name][rows]`, `frames[row]`) and only
ever at rows the context listed (ICMP, trailers, padding, snaplen cuts, over-MTU frames, the
frames of listed checksum rows) or at the first segment of a TCP flow. `SparseFrames` keeps
those rows of the full table and answers the same indexing for them; `SparseValues` does the
same for a per-frame array (direction, link header, ...). Always holds: `len()`
is the capture's frame count; reading a row that was not kept raises KeyError (a check
reading outside its lists is a bug, not a silent zero).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from wiredoctor.tables import FrameTable, take

I64 = npt.NDArray[np.int64]


class SparseFrames:
    """Kept rows of a frame table, addressed by their row in the full table."""

    def __init__(self, kept: FrameTable, rows: I64, n_frames: int) -> None:
        self.kept = kept
        """The kept frame rows, ascending by row."""
        self.rows = rows
        """Row of each kept frame in the full table (ascending, distinct)."""
        self.n_frames = n_frames
        """Rows of the full table."""

    def __len__(self) -> int:
        return self.n_frames

    def position(self, rows: Any) -> Any:
        """Place in `kept` of full-table `rows` (an int or an array of them)."""
        where = np.searchsorted(self.rows, rows)
        if np.ndim(where) and where.size == 0:
            return where
        inside = np.minimum(where, max(len(self.rows) - 1, 0))
        if len(self.rows) == 0 or not np.all(self.rows[inside] == rows):
            raise KeyError(f"frame-table rows not kept: {rows!r}")
        return where

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return SparseValues(self, self.kept[key])
        where = self.position(key)
        return take(self.kept, where) if np.ndim(where) else self.kept[where]


class SparseValues:
    """A per-frame array (a column of the kept rows, direction, link header, ...) kept at
    the rows of a `SparseFrames` only, indexed by full-table rows like the array it stands
    for."""

    def __init__(self, frames: SparseFrames, values: npt.NDArray[Any]) -> None:
        self._frames = frames
        self.values = values
        """One value per kept row."""

    def __len__(self) -> int:
        return len(self._frames)

    def __getitem__(self, rows: Any) -> Any:
        return self.values[self._frames.position(rows)]
