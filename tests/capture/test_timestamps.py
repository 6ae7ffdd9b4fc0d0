"""Timestamp units to nanoseconds: exact integers, the kernel equal to the reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wiredoctor.capture.timestamps import (
    RES_BINARY,
    RES_DECIMAL,
    tsresol_parts,
    units_to_ns_reference,
)
from wiredoctor.capture.timestamps_kernel import units_to_ns


def test_tsresol_byte() -> None:
    # draft-ietf-opsawg-pcapng §4.2 if_tsresol: MSB clear 10^-n, MSB set 2^-n.
    assert tsresol_parts(6) == (RES_DECIMAL, 6)
    assert tsresol_parts(9) == (RES_DECIMAL, 9)
    assert tsresol_parts(0x8A) == (RES_BINARY, 10)


@pytest.mark.parametrize(
    ("units", "kind", "exponent", "ns"),
    [
        (1_700_000_000_123_456, RES_DECIMAL, 6, 1_700_000_000_123_456_000),
        (1_700_000_000_123, RES_DECIMAL, 3, 1_700_000_000_123_000_000),
        (1_700_000_000_123_456_789, RES_DECIMAL, 9, 1_700_000_000_123_456_789),
        (17_000_000_001_234_567_899, RES_DECIMAL, 10, 1_700_000_000_123_456_789),
        (5, RES_DECIMAL, 0, 5_000_000_000),
        (1, RES_BINARY, 10, 976_562),  # 976562.5 rounds down
        (3 << 30, RES_BINARY, 30, 3_000_000_000),
        ((1 << 64) - 1, RES_DECIMAL, 30, 0),
        ((1 << 64) - 1, RES_BINARY, 64, 999_999_999),
        ((1 << 64) - 1, RES_BINARY, 127, 0),
    ],
)
def test_known_values(units: int, kind: int, exponent: int, ns: int) -> None:
    assert units_to_ns_reference(units, kind, exponent) == ns
    assert int(units_to_ns(np.uint64(units), kind, exponent)) == ns


@settings(max_examples=400, deadline=None)
@given(
    st.integers(0, (1 << 64) - 1), st.sampled_from([RES_DECIMAL, RES_BINARY]), st.integers(0, 127)
)
def test_kernel_equals_reference(units: int, kind: int, exponent: int) -> None:
    assert int(units_to_ns(np.uint64(units), kind, exponent)) == units_to_ns_reference(
        units, kind, exponent
    )
