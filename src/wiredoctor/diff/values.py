"""Field values of changed pairs, as the JSON carries them, for many pairs at once.

`pair_changes_many(result, pairs)` returns, for each pair number, its list of changes
`{"field", "a", "b"}`: one numpy gather per field rather than one Python lookup per pair and
field, so `diff --json` of a million pairs stays in seconds. Addresses and MACs are formatted
once per distinct value.

Always holds: changes come in `fields.Field` bit order, then the byte-level extras; absent
values (-1 columns, no TS option, no checksum) are None; the names are those of
`fields.field_name` for the pair's IP version and protocol as seen at B.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from wiredoctor.diff.fields import Field, field_name, transport_of
from wiredoctor.diff.result import CHECKSUM_KEYS
from wiredoctor.distinct import distinct
from wiredoctor.tables import CaptureTables, address_text

if TYPE_CHECKING:
    from wiredoctor.diff.result import DiffResult

_COLUMN: dict[Field, str] = {
    Field.VLAN_ID: "vlan_id",
    Field.IP_TTL: "ttl",
    Field.IP_ID: "ip_id",
    Field.IP_DSFIELD: "dsfield",
    Field.IP_LEN: "ip_len",
    Field.IP_VERSION: "ip_version",
    Field.SPORT: "sport",
    Field.DPORT: "dport",
    Field.TCP_SEQ: "tcp_seq",
    Field.TCP_ACK: "tcp_ack",
    Field.TCP_FLAGS: "tcp_flags",
    Field.TCP_WIN: "tcp_win",
    Field.TCP_MSS: "tcp_mss",
    Field.TCP_WSCALE: "tcp_wscale",
    Field.TCP_SACK_PERM: "tcp_sack_perm",
    Field.ICMP_ID: "icmp_id",
    Field.ICMP_SEQ: "icmp_seq",
    Field.TRAILER: "trailer_len",
    Field.TUNNEL: "tunnel_depth",
}
_MAY_BE_ABSENT = frozenset(
    {
        Field.VLAN_ID,
        Field.IP_ID,
        Field.TCP_MSS,
        Field.TCP_WSCALE,
        Field.SPORT,
        Field.DPORT,
        Field.ICMP_ID,
        Field.ICMP_SEQ,
    }
)
BYTES_ONLY = frozenset({Field.IPV6_FLOW, Field.IP_OPTIONS, Field.TCP_OPTIONS, Field.TCP_URGENT})
"""Fields whose change only the bytes can describe: reported from `Changes.extra`."""


def _mac(value: int) -> str:
    return ":".join(f"{(value >> s) & 0xFF:02x}" for s in range(40, -8, -8))


def _with_none(values: npt.NDArray[Any], absent: npt.NDArray[np.bool_]) -> list[Any]:
    out: list[Any] = values.tolist()
    for k in np.flatnonzero(absent).tolist():
        out[k] = None
    return out


def _formatted(keys: npt.NDArray[Any], render: Any) -> list[str]:
    """`render(key)` for every element of `keys`, computed once per distinct key."""
    uniq, inverse = np.unique(keys, return_inverse=True, axis=0 if keys.ndim > 1 else None)
    texts = [render(u) for u in uniq.tolist()]
    return [texts[k] for k in inverse.reshape(-1).tolist()]


def field_values(
    tables: CaptureTables,
    rows: npt.NDArray[np.int64],
    field: Field,
    checksums: npt.NDArray[np.int32],
) -> list[Any]:
    """Values of `field` in frame `rows` of `tables`; `checksums` for the checksum fields."""
    frames = tables.frames
    if field in (Field.ETH_SRC, Field.ETH_DST):
        return _formatted(frames["eth_src" if field == Field.ETH_SRC else "eth_dst"][rows], _mac)
    if field in (Field.IP_SRC, Field.IP_DST):
        side = "src" if field == Field.IP_SRC else "dst"
        pairs = np.stack([frames[f"{side}_hi"][rows], frames[f"{side}_lo"][rows]], axis=1)
        return _formatted(pairs, lambda hl: address_text(int(hl[0]), int(hl[1])))
    if field in (Field.IP_CHECKSUM, Field.L4_CHECKSUM):
        return _with_none(checksums, checksums < 0)
    if field == Field.IP_DF:
        return (frames["ip_flags"][rows] & 1).tolist()  # type: ignore[no-any-return]
    if field in (Field.TCP_TSVAL, Field.TCP_TSECR):
        column = frames["tcp_tsval" if field == Field.TCP_TSVAL else "tcp_tsecr"][rows]
        return _with_none(column, frames["tcp_has_ts"][rows] == 0)
    if field == Field.PAYLOAD:
        lengths = frames["l4_payload_len"][rows].tolist()
        hashes = frames["payload_hash"][rows].tolist()
        return [f"len {n}, hash {h:016x}" for n, h in zip(lengths, hashes, strict=True)]
    column = frames[_COLUMN[field]][rows]
    if field in _MAY_BE_ABSENT:
        return _with_none(column, column == -1)
    return column.tolist()  # type: ignore[no-any-return]


def checksum_index(field: Field, protos: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """Column of `Changes.checksums_*` holding `field` for pairs of these IP protocols."""
    if field == Field.IP_CHECKSUM:
        return np.full(protos.size, CHECKSUM_KEYS.index("ip"), dtype=np.int64)
    out = np.full(protos.size, -1, dtype=np.int64)
    for proto in distinct(protos).tolist():
        key = transport_of(int(proto))
        if key in CHECKSUM_KEYS:
            out[protos == proto] = CHECKSUM_KEYS.index(key)
    return out


@dataclass(frozen=True, slots=True)
class FieldChanges:
    """The pairs (of a run of pair numbers) that changed one table field, with its values."""

    field: Field
    """The field."""
    at: npt.NDArray[np.intp]
    """Positions, in the run of pair numbers, of the pairs that changed it."""
    names: list[str]
    """The field's name per kind of pair (IP version and protocol seen at B)."""
    kinds: list[int]
    """Per position of `at`: its pair's kind, an index into `names`."""
    a: list[Any]
    """Per position of `at`: the value at A."""
    b: list[Any]
    """Per position of `at`: the value at B."""


def changed_fields(result: DiffResult, pairs: npt.NDArray[np.int64]) -> Iterator[FieldChanges]:
    """The table fields changed by any pair of `pairs`, in `Field` order (fields only the
    bytes describe, and a payload change the byte-level extras already give, left out)."""
    if pairs.size == 0:
        return
    ra, rb = result.pairing.a_rows[pairs], result.pairing.b_rows[pairs]
    mask = result.changes.mask[pairs]
    versions = result.b.frames["ip_version"][rb].astype(np.int64)
    protos = result.b.frames["ip_proto"][rb].astype(np.int64)
    combo, combo_inverse = np.unique(versions * 1000 + protos, return_inverse=True)
    combo_inverse = combo_inverse.reshape(-1)
    extra = result.changes.extra
    payload_in_extra = np.zeros(pairs.size, dtype=np.bool_)
    if extra:
        for j, i in enumerate(pairs.tolist()):
            payload_in_extra[j] = any(c.field.startswith("payload") for c in extra.get(i, ()))
    for field in Field:
        if field in BYTES_ONLY:
            continue
        hit = ((mask >> np.uint64(int(field))) & np.uint64(1)) == 1
        if field == Field.PAYLOAD:
            hit &= ~payload_in_extra
        idx = np.flatnonzero(hit)
        if idx.size == 0:
            continue
        ck_a = ck_b = np.full(idx.size, -1, dtype=np.int32)
        if field in (Field.IP_CHECKSUM, Field.L4_CHECKSUM):
            k = checksum_index(field, protos[idx])
            ok = k >= 0
            ck_a = np.where(ok, result.changes.checksums_a[pairs[idx], np.maximum(k, 0)], -1)
            ck_b = np.where(ok, result.changes.checksums_b[pairs[idx], np.maximum(k, 0)], -1)
        yield FieldChanges(
            field=field,
            at=idx,
            names=[field_name(field, int(c) // 1000, int(c) % 1000) for c in combo.tolist()],
            kinds=combo_inverse[idx].tolist(),
            a=field_values(result.a, ra[idx], field, ck_a),
            b=field_values(result.b, rb[idx], field, ck_b),
        )


def pair_changes_many(
    result: DiffResult, pairs: npt.NDArray[np.int64]
) -> list[list[dict[str, Any]]]:
    """For each pair number in `pairs`, its changes as JSON objects (see module docstring)."""
    out: list[list[dict[str, Any]]] = [[] for _ in range(pairs.size)]
    for found in changed_fields(result, pairs):
        rows = zip(found.at.tolist(), found.kinds, found.a, found.b, strict=True)
        for j, kind, va, vb in rows:
            out[j].append({"field": found.names[kind], "a": va, "b": vb})
    extra = result.changes.extra
    if extra:
        for j, i in enumerate(pairs.tolist()):
            for change in extra.get(i, ()):
                out[j].append({"field": change.field, "a": change.a, "b": change.b})
    return out
