"""What a diff of two capture points yields: pairs, their changes, the clock, the diagnoses.

Pairs are kept as columns (numpy arrays indexed by pair number) so that two captures of a
million packets each stay cheap; `DiffResult.pair_changes(i)` materialises one pair's field
changes for rendering and JSON.

Always holds: `a_rows`/`b_rows` are 0-based rows of the two frame tables (frame numbers
are `tables.frames["frame"][row]`), sorted by A's row; every frame row of either capture is
in exactly one of: a pair, `only_a`/`only_b`, or the non-IP rows the diff does not pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from wiredoctor.checks.finding import Finding
from wiredoctor.diagnose.diagnosis import Diagnosis
from wiredoctor.tables import CaptureTables

Rows = npt.NDArray[np.int64]


class Update(IntEnum):
    """How a checksum fared between the two points (`checksum_update` in the JSON)."""

    ABSENT = 0
    """Not comparable: missing on one side, or not verifiable at B."""
    UNCHANGED = 1
    """Neither the checksum nor anything it covers changed."""
    CORRECT = 2
    """Covered fields changed and B's checksum verifies."""
    OFF_BY_ONE = 3
    """B's checksum is the correct value ± 1 in ones' complement: a broken RFC 1624 update."""
    WRONG = 4
    """B's checksum is wrong in some other way."""
    NOT_UPDATED = 5
    """Covered fields changed but the checksum stayed the same (and no longer verifies)."""


UPDATE_NAMES: dict[int, str] = {
    Update.UNCHANGED: "unchanged",
    Update.CORRECT: "correct",
    Update.OFF_BY_ONE: "off-by-one",
    Update.WRONG: "wrong",
    Update.NOT_UPDATED: "not-updated",
}

CHECKSUM_KEYS: tuple[str, ...] = ("ip", "tcp", "udp", "udplite", "icmp", "icmpv6")
"""Column order of `Changes.updates`; also the keys of `checksum_update` in the JSON."""


class Match(IntEnum):
    """Which invariants paired two packets; earlier levels are stricter."""

    EXACT = 1
    """Payload hash and length, flags, TCP seq/ack, IP ID, TS val, ICMP type/seq."""
    CONTENT_SEQ = 2
    """As EXACT without IP ID and TS val (rewritten, IPv6, or a retransmission)."""
    FLOW_IDS = 3
    """Within the mapped flow: payload, flags, IP ID, TS val (TCP seq/ack rewritten)."""
    FLOW_HEADER = 4
    """Within the mapped flow: flags, seq/ack, IP ID, TS val (payload changed)."""
    FLOW_CONTENT = 5
    """Within the mapped flow: payload and flags only, paired in order."""
    FLOW_IDS_ONLY = 6
    """Within the mapped flow: flags, IP ID, TS val (payload changed and seq rewritten)."""
    IDS = 7
    """Any flow: payload, flags, IP ID, TS val, one-to-one only (NAT and seq rewritten:
    teaches the flow mapping the flow-bound levels need)."""


MATCH_NAMES: dict[int, str] = {
    Match.EXACT: "exact",
    Match.CONTENT_SEQ: "content+seq",
    Match.FLOW_IDS: "flow+ids",
    Match.FLOW_HEADER: "flow+header",
    Match.FLOW_CONTENT: "flow+content",
    Match.FLOW_IDS_ONLY: "flow+ids-only",
    Match.IDS: "ids",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldChange:
    """One field that differs between the two copies of a packet."""

    field: str
    """Wireshark display-filter name (`ip.ttl`), or `payload[start:end]` (half-open byte
    offsets into the L4 payload)."""
    a: Any
    """The value at A (int, text for addresses, hex text for bytes; None when absent)."""
    b: Any
    """The value at B."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockEstimate:
    """The offset between the two capture clocks and the one-way delay, when separable."""

    offset_ns: int | None
    """B's clock minus A's; None when no flow was seen in both directions."""
    one_way_delay_ns: int | None
    """Median one-way delay between the points; None when not separable from the offset."""
    median_delta_ns: int | None
    """Median of (B timestamp − A timestamp) over the confident pairs, offset included."""
    method: str
    """`reverse-flows` (both directions of connections seen) or `none`."""
    connections: int
    """How many connections seen in both directions the estimate rests on."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Pairing:
    """Which row of A is which row of B, and how sure the pairing is."""

    a_rows: Rows
    """A's frame-table rows, ascending."""
    b_rows: Rows
    """B's rows, aligned with `a_rows`."""
    match: npt.NDArray[np.uint8]
    """`Match` level that paired each pair."""
    confidence: npt.NDArray[np.float32]
    """0..1 per pair: the level's confidence, lowered for pairs chosen among several."""
    only_a: Rows
    """A rows (IP frames) without a copy in B."""
    only_b: Rows
    """B rows (IP frames) without a copy in A."""
    duplicates_a: npt.NDArray[np.int64]
    """(row, row of the paired copy it repeats), shape (n, 2): unpaired exact repeats in A."""
    duplicates_b: npt.NDArray[np.int64]
    """The same for B."""
    flow_a: npt.NDArray[np.uint64]
    """Directional 5-tuple hash of every A row (addresses, protocol, ports / ICMP id)."""
    flow_b: npt.NDArray[np.uint64]
    """The same for every B row."""
    ambiguous_groups: int
    """Groups of look-alike packets resolved by time rather than by invariants."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Changes:
    """What changed in each pair, as masks and codes (see `fields.Field`, `Update`)."""

    mask: npt.NDArray[np.uint64]
    """Per pair: bits of the changed fields."""
    updates: npt.NDArray[np.uint8]
    """Per pair × `CHECKSUM_KEYS`: `Update` code."""
    partial: npt.NDArray[np.uint8]
    """Per pair: bit k set when B's checksum k holds only a pseudo-header sum (offload)."""
    checksums_a: npt.NDArray[np.int32]
    """Per pair × `CHECKSUM_KEYS`: A's innermost checksum field value, -1 when absent."""
    checksums_b: npt.NDArray[np.int32]
    """The same at B."""
    extra: dict[int, tuple[FieldChange, ...]]
    """Per pair number: changes only the bytes show (payload ranges, options, flow label)."""
    bytes_compared: int
    """How many pairs were compared byte by byte (the rest by table columns only)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffResult:
    """Everything `diff_captures` found."""

    a: CaptureTables
    b: CaptureTables
    pairing: Pairing
    clock: ClockEstimate
    direction: npt.NDArray[np.int8]
    """Per pair: +1 travelled A→B, −1 B→A, 0 unknown (from TTL, else from flow delays)."""
    delay_ns: npt.NDArray[np.int64]
    """Per pair: B's timestamp − A's, minus the clock offset when one was estimated."""
    changes: Changes
    lost_a: Rows
    """A rows lost on the way A→B (inside B's capture window)."""
    lost_b: Rows
    """B rows lost on the way B→A (inside A's capture window)."""
    retransmission: npt.NDArray[np.bool_]
    """Per pair: same TCP segment, different TS val: B holds another transmission of it."""
    diagnoses: tuple[Diagnosis, ...] = ()
    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = field(default=())
    """Plain sentences about the inputs (different link types, capture windows…)."""

    @property
    def pairs(self) -> int:
        """Number of pairs."""
        return int(self.pairing.a_rows.size)

    def frame_a(self, i: int) -> int:
        """A's 1-based frame number of pair `i`."""
        return int(self.a.frames["frame"][self.pairing.a_rows[i]])

    def frame_b(self, i: int) -> int:
        """B's 1-based frame number of pair `i`."""
        return int(self.b.frames["frame"][self.pairing.b_rows[i]])

    def pair_changes(self, i: int) -> list[FieldChange]:
        """Every change of pair `i`: table columns first, then what only the bytes show."""
        from wiredoctor.diff.values import pair_changes_many

        found = pair_changes_many(self, np.array([i], dtype=np.int64))[0]
        return [FieldChange(field=c["field"], a=c["a"], b=c["b"]) for c in found]

    def checksum_update(self, i: int) -> dict[str, str]:
        """`checksum_update` of pair `i`: proto key → update name, comparable protos only."""
        row = self.changes.updates[i]
        return {
            key: UPDATE_NAMES[int(code)]
            for key, code in zip(CHECKSUM_KEYS, row, strict=True)
            if code != Update.ABSENT
        }

    @property
    def anomalies(self) -> bool:
        """True when something went wrong between the points (exit status 1)."""
        from wiredoctor.checks.finding import Severity

        return any(d.severity in (Severity.WARNING, Severity.ERROR) for d in self.diagnoses)
