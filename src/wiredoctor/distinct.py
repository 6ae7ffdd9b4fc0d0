"""Sorted distinct values, as numpy's set functions give them, without loading numpy.ma.

numpy 2's `np.unique` asks `np.ma.is_masked` first whenever it returns no indices and no
counts, and so do the functions that call it (`np.union1d`, `np.setdiff1d`, `np.isin` on a
large set): the first such call imports numpy.ma, about 13 ms here, a twentieth of a whole
`check` of a small capture. These sort and keep the first of each run of equal values
instead.

Always holds: for arrays of integers (or floats without NaN), `distinct(a)` equals
`np.unique(a)`, `union(a, b)` equals `np.union1d(a, b)` and `difference(a, b)` equals
`np.setdiff1d(a, b)`, values and dtype; for `values` and `allowed` of one dtype,
`within(values, allowed)` equals `np.isin(values, allowed)`; nothing here imports numpy.ma.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def distinct(values: npt.ArrayLike) -> npt.NDArray[Any]:
    """The distinct values of `values` (flattened), sorted: `np.unique(values)`."""
    flat = np.asarray(values).ravel()
    if flat.dtype.kind in "bu" and flat.dtype.itemsize <= 2:
        # At most 65,536 possible values (a protocol, a link type): counted, not sorted.
        present: npt.NDArray[Any] = np.flatnonzero(np.bincount(flat)).astype(flat.dtype)
        return present
    ordered = np.sort(flat)
    if ordered.shape[0] < 2:
        return ordered
    first = np.empty(ordered.shape[0], dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]


def union(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[Any]:
    """The distinct values of `a` and `b` together, sorted: `np.union1d(a, b)`."""
    return distinct(np.concatenate((np.asarray(a).ravel(), np.asarray(b).ravel())))


def difference(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[Any]:
    """The distinct values of `a` not in `b`, sorted: `np.setdiff1d(a, b)`."""
    mine = distinct(a)
    return mine[~within(mine, b)]


def within(values: npt.ArrayLike, allowed: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether each of `values` is one of `allowed` (the same dtype): `np.isin`."""
    keys = distinct(allowed)
    wanted = np.asarray(values)
    if keys.shape[0] == 0:
        return np.zeros(wanted.shape, dtype=bool)
    at = np.minimum(np.searchsorted(keys, wanted), keys.shape[0] - 1)
    found: npt.NDArray[np.bool_] = keys[at] == wanted
    return found


def distinct_pairs(a: npt.ArrayLike, b: npt.ArrayLike) -> int:
    """How many distinct pairs (a[i], b[i]) there are: the length of
    `np.unique(np.stack([a, b]), axis=1).T`."""
    first, second = np.asarray(a).ravel(), np.asarray(b).ravel()
    if first.shape[0] < 2:
        return int(first.shape[0])
    order = np.lexsort((second, first))
    first, second = first[order], second[order]
    new = (first[1:] != first[:-1]) | (second[1:] != second[:-1])
    return 1 + int(np.count_nonzero(new))
