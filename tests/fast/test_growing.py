"""fast.growing: rows reserved once from the first batch, kept in order, never lost."""

from __future__ import annotations

import numpy as np

from wiredoctor.fast.growing import Growing, estimate_rows
from wiredoctor.tables import CHECKSUM_DTYPE


def _rows(start: int, count: int) -> np.ndarray:
    rows = np.zeros(count, dtype=CHECKSUM_DTYPE)
    rows["frame"] = np.arange(start, start + count)
    return rows


def test_rows_survive_growth_past_the_reservation() -> None:
    table = Growing(CHECKSUM_DTYPE)
    table.append(_rows(1, 3))
    table.reserve(5)
    table.append(_rows(4, 10))  # beyond the reservation: grows and keeps what it held
    table.extend(2)["frame"] = [14, 15]
    assert table.finish()["frame"].tolist() == list(range(1, 16))


def test_a_reservation_far_above_the_truth_is_not_kept() -> None:
    table = Growing(CHECKSUM_DTYPE)
    table.reserve(1000)
    table.append(_rows(1, 10))
    done = table.finish()
    assert done["frame"].tolist() == list(range(1, 11))
    assert done.base is None  # a copy of its own, not a view of the 1000-row reservation


def test_estimate_scales_the_first_batch_to_the_capture() -> None:
    # 1,000 rows from the first 1 MB of a 10 MB capture: ~10,000 rows and some slack.
    rows = estimate_rows(1000, 1 << 20, 10 << 20)
    assert 10_000 < rows < 12_000
    assert estimate_rows(1000, 1 << 20, 1 << 20) == 1000  # the whole capture was seen
    assert estimate_rows(0, 0, 10 << 20) == 0
