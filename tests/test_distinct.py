"""`distinct`'s set functions give what numpy's give (values and dtype) for integer arrays of
any size, sign and repetition, and never load numpy.ma."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from wiredoctor.distinct import difference, distinct, distinct_pairs, union, within

DTYPES = (np.uint8, np.uint16, np.uint32, np.int32, np.int64, np.uint64)


def _arrays(seed: int, dtype: type, n: int, spread: int) -> np.ndarray:
    """`n` values of `dtype` from a pool of about `spread` (repeats when it is small)."""
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    pool = rng.integers(info.min, info.max, size=max(spread, 1), dtype=dtype, endpoint=True)
    return pool[rng.integers(0, pool.shape[0], size=n)]


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(DTYPES),
    st.integers(0, 400),
    st.integers(0, 400),
    st.integers(1, 60),
)
def test_the_same_as_numpy(seed: int, dtype: type, n: int, m: int, spread: int) -> None:
    a = _arrays(seed, dtype, n, spread)
    b = np.r_[a[: n // 2], _arrays(seed + 1, dtype, m, spread)].astype(dtype)
    for mine, numpys in (
        (distinct(a), np.unique(a)),
        (union(a, b), np.union1d(a, b)),
        (difference(a, b), np.setdiff1d(a, b)),
        (within(a, b), np.isin(a, b)),
        (within(b, a), np.isin(b, a)),
    ):
        assert mine.dtype == numpys.dtype
        assert np.array_equal(mine, numpys)
    pairs = np.unique(np.stack([a, a[::-1]]), axis=1).T
    assert distinct_pairs(a, a[::-1]) == len(pairs)


def test_empty_and_single() -> None:
    empty = np.array([], dtype=np.uint32)
    assert distinct(empty).dtype == np.uint32 and distinct(empty).size == 0
    assert np.array_equal(distinct(np.array([7, 7, 7])), [7])
    assert not within(np.array([1, 2], dtype=np.int64), empty.astype(np.int64)).any()
    assert distinct_pairs(empty, empty) == 0
    assert distinct_pairs(np.array([3]), np.array([4])) == 1
    flags = np.array([True, False, True])
    assert distinct(flags).dtype == np.bool_
    assert np.array_equal(distinct(flags), np.unique(flags))
    strided = np.zeros(10, dtype=[("a", np.uint8), ("b", np.uint16)])
    strided["b"] = [5, 3, 5, 9, 3, 0, 0, 9, 65535, 5]
    assert np.array_equal(distinct(strided["b"]), np.unique(strided["b"]))
    assert distinct(strided["b"]).dtype == np.uint16


def test_numpy_ma_is_not_loaded() -> None:
    probe = (
        "import sys, numpy as np\n"
        "from wiredoctor.distinct import difference, distinct, union, within\n"
        "a = np.arange(5000, dtype=np.uint64) * 7919 % 1000\n"
        "distinct(a); union(a, a[::3]); difference(a, a[::2]); within(a, a[::5])\n"
        "print('numpy.ma' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"
