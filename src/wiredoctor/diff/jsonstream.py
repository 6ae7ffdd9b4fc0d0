"""The `diff --json` document written piece by piece, for captures of millions of packets.

`write_diff_json(result, out)` writes the same text `json.dumps(diff_json(result),
separators=(",", ":"))` would produce, without building the document or its string: the
small parts around `pairs` are encoded by `json.dumps` itself, and the pairs are formatted a
chunk at a time, column by column: numbers by the C encoder a whole column at once, texts
and the per-pair tail (`checksum_update`, confidence, match, direction…) once per distinct
value, and each pair's text is one join of such pre-encoded pieces.

Always holds: the output parses to exactly `diff_json(result)` — same keys in the same
order, same pairs in the same order, same values — and is in fact byte-identical to its
compact `json.dumps`; memory beyond the result itself is bounded by one chunk of pairs.
"""

from __future__ import annotations

import json
from itertools import repeat
from json.encoder import encode_basestring_ascii
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

from wiredoctor.diff.common import DIRECTION_NAMES
from wiredoctor.diff.jsonout import document_head, document_tail
from wiredoctor.diff.result import CHECKSUM_KEYS, MATCH_NAMES, UPDATE_NAMES, DiffResult
from wiredoctor.diff.values import changed_fields

CHUNK = 1 << 14
"""Pairs formatted per write: enough to amortise the numpy calls per field, while one
chunk's text and pieces (about 15 MB for 16384 pairs) stay small beside the tables."""

_PLAIN = frozenset({int, str, type(None)})
"""Value types encoded one distinct value at a time (bool and float would hash like ints)."""


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _text(value: Any) -> str:
    """JSON text of an int, a str or None, as `json.dumps` encodes it."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    return int.__repr__(value)


def _numbers(values: list[int]) -> list[str]:
    """JSON text of every int of `values`: the C encoder does the list, split at commas."""
    return _dumps(values)[1:-1].split(",") if values else []


def _fragments(openings: list[str], values_a: list[Any], values_b: list[Any]) -> list[str]:
    """`{opening}A,"b":B}` per element, A and B the JSON texts of a change's two values."""
    types = set(map(type, values_a)) | set(map(type, values_b))
    rows = zip(openings, values_a, values_b, strict=True)
    if types == {int}:
        # A plain int formats exactly as json.dumps writes it (bool is another type).
        return [f'{p}{a},"b":{b}}}' for p, a, b in rows]
    if types <= _PLAIN:
        # Addresses, MACs, absent values: few distinct (A, B) combinations, each encoded once.
        pairs = list(zip(values_a, values_b, strict=True))
        memo = {ab: f'{_text(ab[0])},"b":{_text(ab[1])}}}' for ab in set(pairs)}
        return list(map(str.__add__, openings, map(memo.__getitem__, pairs)))
    return [f'{p}{_dumps(a)},"b":{_dumps(b)}}}' for p, a, b in rows]


def _row_codes(columns: list[npt.NDArray[np.int64]]) -> npt.NDArray[np.int64]:
    """One int64 per row that equals for two rows exactly when all `columns` do.

    Mixed radix over the columns' ranges when that fits 62 bits, else a lexicographic
    rank: either way `np.unique` then sorts a flat array rather than rows.
    """
    code = np.zeros(columns[0].size, dtype=np.int64)
    span = 1
    for column in columns:
        low = int(column.min())
        width = int(column.max()) - low + 1
        span *= width
        if span >= 1 << 62:
            rows = np.stack(columns, axis=1)
            _, inverse = np.unique(rows, axis=0, return_inverse=True)
            return inverse.reshape(-1).astype(np.int64)
        code = code * width + (column - low)
    return code


def _changes_columns(result: DiffResult, pairs: npt.NDArray[np.int64]) -> list[list[str]]:
    """Columns of text pieces whose per-pair concatenation is the inside of `changes`.

    The changes come as `values.pair_changes_many` lists them: table fields in `Field`
    order, then the byte-level extras; a piece is "" where its change is absent.
    """
    n = pairs.size
    columns: list[list[str]] = []
    started = np.zeros(n, dtype=np.bool_)
    for found in changed_fields(result, pairs):
        # Opening per (kind of pair, first change of its pair or not).
        openings: list[str] = []
        for name in map(_dumps, found.names):
            openings += [f',{{"field":{name},"a":', f'{{"field":{name},"a":']
        keys = (np.array(found.kinds, dtype=np.int64) * 2 + (~started[found.at])).tolist()
        fragments = _fragments(list(map(openings.__getitem__, keys)), found.a, found.b)
        column = np.full(n, "", dtype=object)
        column[found.at] = np.array(fragments, dtype=object)
        columns.append(column.tolist())
        started[found.at] = True
    extra = result.changes.extra
    extra_at = [(j, extra[i]) for j, i in enumerate(pairs.tolist()) if i in extra] if extra else []
    if extra_at:
        extras = [""] * n
        for j, found_extra in extra_at:
            items = ",".join(_dumps({"field": c.field, "a": c.a, "b": c.b}) for c in found_extra)
            extras[j] = f",{items}" if started[j] and items else items
        columns.append(extras)
    return columns


def _tails(result: DiffResult, pairs: npt.NDArray[np.int64]) -> list[str]:
    """Per pair number: its text after `changes`, from `],"checksum_update"` to the `}`."""
    updates = result.changes.updates[pairs]
    confidence = np.round(result.pairing.confidence[pairs].astype(np.float64), 2)
    conf_values, conf_codes = np.unique(confidence, return_inverse=True)
    columns = [updates[:, k].astype(np.int64) for k in range(updates.shape[1])]
    columns += [
        conf_codes.reshape(-1).astype(np.int64),
        result.pairing.match[pairs].astype(np.int64),
        result.direction[pairs].astype(np.int64),
        result.retransmission[pairs].astype(np.int64),
        result.changes.partial[pairs].astype(np.int64),
    ]
    codes = _row_codes(columns)
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    uniq = np.stack(columns, axis=1)[first]
    conf_list = conf_values.tolist()
    texts: list[str] = []
    for row in uniq.tolist():
        update_codes = row[: updates.shape[1]]
        conf, match, direction, retransmission, partial = row[-5:]
        tail: dict[str, Any] = {
            "checksum_update": {
                key: UPDATE_NAMES[c]
                for key, c in zip(CHECKSUM_KEYS, update_codes, strict=True)
                if c
            },
            "confidence": conf_list[conf],
            "match": MATCH_NAMES[match],
            "direction": DIRECTION_NAMES[direction],
        }
        if retransmission:
            tail["retransmission"] = True
        if partial:
            tail["checksum_partial"] = [k for m, k in enumerate(CHECKSUM_KEYS) if partial >> m & 1]
        texts.append("]," + _dumps(tail)[1:])
    return list(map(texts.__getitem__, inverse.reshape(-1).tolist()))


def pair_texts(result: DiffResult, pairs: npt.NDArray[np.int64]) -> list[str]:
    """The compact JSON text of each pair number in `pairs`, as `pairs_json` has it."""
    if pairs.size == 0:
        return []
    frames_a = result.a.frames["frame"][result.pairing.a_rows[pairs]].tolist()
    frames_b = result.b.frames["frame"][result.pairing.b_rows[pairs]].tolist()
    delays = result.delay_ns[pairs].tolist()
    pieces = zip(
        repeat('{"a":'),
        _numbers(frames_a),
        repeat(',"b":'),
        _numbers(frames_b),
        repeat(',"delay_ns":'),
        _numbers(delays),
        repeat(',"changes":['),
        *_changes_columns(result, pairs),
        _tails(result, pairs),
    )
    return list(map("".join, pieces))


def write_diff_json(result: DiffResult, out: TextIO, *, chunk: int = CHUNK) -> None:
    """Write the compact `diff --json` document of `result` to `out`, pairs a chunk at a time."""
    head = _dumps(document_head(result))
    tail = _dumps(document_tail(result))
    out.write(head[:-1] + ',"pairs":[')
    for start in range(0, result.pairs, chunk):
        pairs = np.arange(start, min(start + chunk, result.pairs), dtype=np.int64)
        out.write(("," if start else "") + ",".join(pair_texts(result, pairs)))
    out.write("]," + tail[1:])
