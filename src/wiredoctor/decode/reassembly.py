"""IP fragment reassembly for checksum verification (RFC 791 §3.2, RFC 8200 §4.5).

A datagram is keyed by (IP version, source, destination, identification, protocol); the
first fragment supplies the upper-layer header. When the pieces seen cover the datagram
from 0 to the end the last fragment (MF clear) gives, `add` returns the payload.

Always holds: at most `MAX_PENDING` datagrams are held (the oldest is dropped first); a
fragment whose bytes the capture cut marks its datagram `cut`, so the completed datagram is
reported unverified, never bad. Overlaps resolve as Wireshark's reassembly does: fragments
are laid down in order of offset (arrival order among equal offsets) and each adds only the
bytes beyond those already laid, so the lowest-offset copy of a byte wins.

`Fragments` adds the checksum side: the first fragment's upper-layer facts wait (as a small
`FirstFragment`, never the decoded frame) until a later frame completes the datagram, which
then gets the verdict over the reassembled bytes. Both speeds feed one `Fragments` per
capture in frame order, so they share this state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wiredoctor.checksum.verdict import Note, Proto
from wiredoctor.decode.checksums import Occurrence, UpperContext, upper_layer

MAX_PENDING = 4096
"""Datagrams waiting for fragments; older ones are forgotten beyond this."""

FragmentKey = tuple[int, bytes, bytes, int, int]


@dataclass(slots=True, kw_only=True)
class Pending:
    """A datagram being reassembled."""

    pieces: list[tuple[int, int, bytes]] = field(default_factory=list)
    """(offset in bytes, arrival number, payload) of every fragment seen."""
    total: int = -1
    """Datagram payload length once the last fragment has been seen, else -1."""
    cut: bool = False
    """A fragment's bytes were cut by the capture."""
    frames: list[int] = field(default_factory=list)
    """Frames that carried a fragment, in arrival order."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reassembled:
    """A completed datagram payload (upper-layer header included)."""

    payload: bytes
    """The reassembled upper-layer bytes (empty when `cut`)."""
    cut: bool
    """Some fragment was not fully captured: the payload cannot be verified."""
    frames: tuple[int, ...]
    """Frames that carried its fragments."""


class Reassembler:
    """Collects fragments across frames of one capture."""

    def __init__(self) -> None:
        self._pending: dict[FragmentKey, Pending] = {}

    def add(
        self, key: FragmentKey, frame: int, offset: int, more: bool, payload: bytes, cut: bool
    ) -> Reassembled | None:
        """Add one fragment; the completed datagram when this fragment completes it."""
        pending = self._pending.get(key)
        if pending is None:
            if len(self._pending) >= MAX_PENDING:
                del self._pending[next(iter(self._pending))]
            pending = self._pending[key] = Pending()
        pending.frames.append(frame)
        pending.cut = pending.cut or cut
        pending.pieces.append((offset, len(pending.pieces), payload))
        if not more:
            pending.total = offset + len(payload)
        if pending.total < 0:
            return None
        pending.pieces.sort()
        covered = 0
        for start, _, piece in pending.pieces:
            if start > covered:
                return None
            covered = max(covered, start + len(piece))
        if covered < pending.total:
            return None
        del self._pending[key]
        if pending.cut:
            return Reassembled(payload=b"", cut=True, frames=tuple(pending.frames))
        buffer = bytearray()
        for start, _, piece in pending.pieces:
            if start + len(piece) > len(buffer):
                buffer += piece[len(buffer) - start :]
        return Reassembled(
            payload=bytes(buffer[: pending.total]), cut=False, frames=tuple(pending.frames)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class FirstFragment:
    """What a datagram's first fragment leaves for the verdict over the reassembled bytes."""

    proto: Proto
    """The upper layer whose checksum is verified."""
    relative: int
    """Offset of the upper-layer header in the reassembled payload."""
    source: bytes
    """Pseudo-header source."""
    destination: bytes
    """Pseudo-header destination (the final one of a source route)."""
    wire_destination: bytes
    """The IP destination field."""
    ipv6: bool
    """Carried over IPv6."""


class Fragments:
    """A capture's reassembly state plus the first fragments waiting for their datagrams."""

    def __init__(self) -> None:
        self._reassembler = Reassembler()
        self._first: dict[FragmentKey, FirstFragment] = {}

    def add(
        self,
        key: FragmentKey,
        frame: int,
        offset: int,
        more: bool,
        payload: bytes,
        cut: bool,
        *,
        first: FirstFragment | None,
        start: int,
        snaplen: bool,
    ) -> tuple[bool, Occurrence | None]:
        """Add one fragment (`first` when it is a first fragment with a checksummed upper
        layer; `start` where its fragmentable part begins in the frame; `snaplen` the frame
        was cut). Returns (it completed a datagram, the reassembled verdict when the first
        fragment was seen)."""
        if first is not None:
            self._first[key] = first
        done = self._reassembler.add(key, frame, offset, more, payload, cut)
        if done is None:
            return False, None
        head = self._first.pop(key, None)
        if head is None:
            return True, None
        # The field lies in this frame only when this frame is the first fragment.
        return True, _reassembled(head, done, start if offset == 0 else -1, snaplen)


def _reassembled(
    head: FirstFragment, done: Reassembled, field_base: int, snaplen: bool
) -> Occurrence:
    relative = head.relative
    total = len(done.payload) if not done.cut else -1
    ctx = UpperContext(
        source=head.source,
        destination=head.destination,
        wire_destination=head.wire_destination,
        ipv6=head.ipv6,
        length=max(total - relative, 0) if not done.cut else -1,
        available=max(len(done.payload) - relative, 0),
        snaplen=snaplen or done.cut,
        length_lie=False,
        quoted=False,
        field_base=field_base,
    )
    occ = upper_layer(head.proto, done.payload, relative, ctx)
    return Occurrence(
        proto=occ.proto,
        status=occ.status,
        cause=occ.cause,
        note=occ.note | Note.REASSEMBLED,
        value=occ.value,
        expected=occ.expected,
        partial=occ.partial,
        field_off=occ.field_off,
        length=occ.length,
    )
