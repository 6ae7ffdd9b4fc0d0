"""The two columnar tables every stage shares: one row per frame, one row per checksum.

Both speeds produce exactly these dtypes: `fast/` in numba over mmap'd windows, `decode/`
from typed Python decoders (the differential test compares them column by column).
Text records without bytes produce rows too, flagged `FrameFlag.TEXT_FIELDS`.

Always holds: `frame` is 1-based and strictly increasing within one capture; a frame's
checksum rows are contiguous, start at `cksum_row` and number `n_cksum`; integer columns
use -1 (or the stated sentinel) for "absent", never NaN; addresses are IPv6 or
IPv4-mapped IPv6 (::ffff:a.b.c.d) split into two big-endian uint64 halves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntFlag
from typing import Any

import numpy as np
import numpy.typing as npt

FRAME_DTYPE = np.dtype(
    [
        ("frame", np.uint32),  # 1-based frame number
        ("capture", np.uint16),  # index of the capture file among the inputs
        ("iface", np.uint16),  # pcapng interface id
        ("ts_ns", np.int64),  # timestamp, ns since the epoch
        ("caplen", np.uint32),
        ("wirelen", np.uint32),
        ("linktype", np.uint16),
        ("file_off", np.int64),  # offset of the frame's bytes in the capture stream, -1 none
        ("direction", np.uint8),  # capture.record.Direction
        ("sll_pkttype", np.int8),  # Linux SLL packet type, -1 when not SLL/SLL2
        ("flags", np.uint32),  # FrameFlag bits
        # link layer
        ("eth_src", np.uint64),  # 48-bit MAC, 0 when absent
        ("eth_dst", np.uint64),
        ("vlan_depth", np.uint8),  # number of 802.1Q/802.1ad tags
        ("vlan_id", np.int16),  # outermost VLAN id, -1 when untagged
        ("l2_len", np.uint16),  # bytes before the outermost IP header
        ("pad_len", np.uint16),  # Ethernet padding to the 60-byte minimum (eth.padding)
        ("trailer_len", np.uint16),  # bytes after the outer IP datagram beyond padding
        ("trailer_off", np.int32),  # offset of the padding/trailer bytes, -1 when none
        ("trailer_nonzero_pad", np.uint8),  # 1 when padding bytes are not all zero
        # network layer (the innermost IP header; outer ones only counted)
        ("tunnel_depth", np.uint8),  # encapsulation levels above the innermost IP
        ("ip_version", np.uint8),  # 0 none, 4, 6
        ("ip_off", np.int32),  # offset of the innermost IP header, -1 none
        ("outer_ip_len", np.uint32),  # total length the outermost IP header states
        ("src_hi", np.uint64),
        ("src_lo", np.uint64),
        ("dst_hi", np.uint64),  # ip.dst / ipv6.dst as on the wire (not the final destination)
        ("dst_lo", np.uint64),
        ("ip_len", np.uint32),  # innermost IP total length (IPv6: 40 + payload length)
        ("ip_hdr_len", np.uint16),  # IPv4 IHL*4, IPv6 40 + extension headers
        ("ip_id", np.int64),  # IPv4 id or IPv6 fragment id, -1 none
        ("ttl", np.uint8),  # TTL / hop limit
        ("dsfield", np.uint8),  # DSCP<<2 | ECN
        ("ip_flags", np.uint8),  # bit0 DF, bit1 MF
        ("frag_off", np.uint32),  # fragment offset in bytes
        ("ip_proto", np.int16),  # final upper-layer protocol, -1 none
        # transport (the innermost)
        ("l4_off", np.int32),  # -1 none
        ("sport", np.int32),  # -1 none
        ("dport", np.int32),
        ("tcp_seq", np.uint32),
        ("tcp_ack", np.uint32),
        ("tcp_flags", np.uint16),  # 12 bits: FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE CWR AE
        ("tcp_win", np.uint16),
        ("tcp_hdr_len", np.uint16),
        ("tcp_mss", np.int32),  # MSS option value, -1 none
        ("tcp_wscale", np.int16),  # window-scale shift, -1 none
        ("tcp_sack_perm", np.uint8),
        ("tcp_has_ts", np.uint8),
        ("tcp_tsval", np.uint32),
        ("tcp_tsecr", np.uint32),
        ("l4_payload_len", np.int32),  # payload bytes after the L4 header by the IP length
        ("icmp_type", np.int16),  # ICMP/ICMPv6 type, -1 none
        ("icmp_code", np.int16),
        ("icmp_id", np.int32),  # echo identifier, -1 none
        ("icmp_seq", np.int32),  # echo sequence, -1 none
        ("icmp_mtu", np.int32),  # MTU from frag-needed / packet-too-big, -1 none
        ("payload_hash", np.uint64),  # decode.fnv.payload_hash of the captured L4 payload, 0 none
        # checksum rows of this frame
        ("cksum_row", np.uint32),
        ("n_cksum", np.uint8),
    ]
)

CHECKSUM_DTYPE = np.dtype(
    [
        ("frame", np.uint32),  # 1-based frame number
        ("capture", np.uint16),
        ("proto", np.uint8),  # checksum.verdict.Proto
        ("depth", np.uint8),  # 0 = outermost occurrence of this proto in the frame
        ("status", np.uint8),  # checksum.verdict.Status
        ("cause", np.uint8),  # checksum.verdict.Cause
        ("note", np.uint8),  # checksum.verdict.Note bits
        ("value", np.int32),  # the field as captured, -1 when not captured
        ("expected", np.int32),  # the correct value, -1 when it cannot be computed
        ("partial", np.int32),  # folded pseudo-header sum (TCP/UDP/ICMPv6), -1 otherwise
        ("field_off", np.int32),  # byte offset of the checksum field in the frame, -1 none
        ("l4_len", np.int32),  # bytes the checksum covers (L4 length / IP header length)
    ]
)


class FrameFlag(IntFlag):
    """Bits of `FRAME_DTYPE['flags']`."""

    NONE = 0
    SNAPLEN = 1 << 0  # caplen < wirelen
    MALFORMED = 1 << 1  # a header lies (length beyond the data, impossible value)
    FRAGMENT = 1 << 2  # the innermost IP datagram is a fragment
    REASSEMBLED = 1 << 3  # this frame completed a reassembled datagram
    TEXT_FIELDS = 1 << 4  # no bytes: fields stated by text (tcpdump -v / Wireshark list)
    NOT_IP = 1 << 5  # no IP header found (ARP, LLDP, …)
    UNSUPPORTED_LINK = 1 << 6  # link type this version does not decode
    IPV4_LEN_ZERO = 1 << 7  # IPv4 total length 0 (TSO / BIG TCP)
    JUMBOGRAM = 1 << 8  # IPv6 jumbo payload option
    SRH = 1 << 9  # IPv6 routing header with segments left > 0
    TEXT_RETRANSMISSION = 1 << 10  # the text marked it [TCP Retransmission]
    TEXT_DUP_ACK = 1 << 11  # the text marked it [TCP Dup ACK]
    DUPLICATE_SLL = 1 << 12  # same packet already seen on another interface (-i any)


FrameTable = npt.NDArray[np.void]
ChecksumTable = npt.NDArray[np.void]


def take(table: npt.NDArray[np.void], index: npt.NDArray[Any]) -> npt.NDArray[np.void]:
    """`table[index]` for an array of row numbers or a mask, the rows copied whole.

    numpy copies a record dtype of many fields field by field (59 in a frame row): gathering
    41,000 frame rows took 26 ms that way and 3.5 ms as whole records, here."""
    if not table.flags.c_contiguous:
        gathered: npt.NDArray[np.void] = table[index]
        return gathered
    records = table.view(np.dtype((np.void, table.dtype.itemsize)))
    picked: npt.NDArray[np.void] = records[index].view(table.dtype)
    return picked


def concat(
    parts: list[npt.NDArray[np.void]], buffer: npt.NDArray[np.uint8] | None = None
) -> npt.NDArray[np.void]:
    """Tables of one dtype one after the other, copied as bytes (numpy copies packed records
    field by field otherwise, several times slower), into the start of `buffer` when given
    (bytes, large enough)."""
    raw = [np.ascontiguousarray(p).view(np.uint8) for p in parts]
    if buffer is None:
        joined = np.concatenate(raw)
    else:
        joined = buffer[: sum(r.shape[0] for r in raw)]
        np.concatenate(raw, out=joined)
    table: npt.NDArray[np.void] = joined.view(parts[0].dtype)
    return table


def empty_frames(n: int = 0) -> FrameTable:
    """A frame table of `n` rows with every column at its "absent" value."""
    table = np.zeros(n, dtype=FRAME_DTYPE)
    for name in (
        "file_off",
        "sll_pkttype",
        "vlan_id",
        "trailer_off",
        "ip_off",
        "ip_id",
        "ip_proto",
        "l4_off",
        "sport",
        "dport",
        "tcp_mss",
        "tcp_wscale",
        "icmp_type",
        "icmp_code",
        "icmp_id",
        "icmp_seq",
        "icmp_mtu",
    ):
        table[name] = -1
    return table


def empty_checksums(n: int = 0) -> ChecksumTable:
    """A checksum table of `n` rows with value/expected/partial/field_off absent."""
    table = np.zeros(n, dtype=CHECKSUM_DTYPE)
    for name in ("value", "expected", "partial", "field_off", "l4_len"):
        table[name] = -1
    return table


def ipv4_mapped(addr4: bytes) -> tuple[int, int]:
    """The (hi, lo) halves of ::ffff:a.b.c.d for a 4-byte IPv4 address."""
    return 0, 0xFFFF_0000_0000 | int.from_bytes(addr4, "big")


def ipv6_halves(addr16: bytes) -> tuple[int, int]:
    """The (hi, lo) halves of a 16-byte IPv6 address."""
    return int.from_bytes(addr16[:8], "big"), int.from_bytes(addr16[8:], "big")


def address_text(hi: int, lo: int) -> str:
    """Human form of a table address: dotted quad for IPv4-mapped, RFC 5952 text otherwise."""
    import ipaddress

    if hi == 0 and (lo >> 32) == 0xFFFF:
        return str(ipaddress.IPv4Address(lo & 0xFFFF_FFFF))
    return str(ipaddress.IPv6Address((hi << 64) | lo))


@dataclass(slots=True, kw_only=True, weakref_slot=True)
class CaptureTables:
    """Everything one capture yields for the checks: its tables and what the reader saw."""

    path: str
    """The capture as the user named it (`-` for stdin)."""
    index: int
    """Position among the inputs (the `capture` column of both tables)."""
    format: str
    """`pcap`, `pcapng` or `text`."""
    linktypes: list[int]
    frames: FrameTable
    """Every frame's row; only the rows the checks read when `complete` is False."""
    checksums: ChecksumTable
    """Every checksum row; only the rows the checks read when `complete` is False."""
    warnings: list[str] = field(default_factory=list)
    """Reader warnings, e.g. a file cut short at a byte offset."""
    read_frame: Callable[[int], bytes] | None = None
    """Returns a frame's captured bytes by 1-based number (b"" for text-only records)."""
    close: Callable[[], None] | None = None
    """Releases the capture source behind `read_frame` (also done when the tables go)."""
    prepared: Any = None
    """What `check` kept of a capture it streamed (`checks.streamed.StreamedInputs`: its
    `n_frames` and `status` count the whole capture), or None for whole tables."""

    @property
    def complete(self) -> bool:
        """False when `check` streamed the capture: `frames` and `checksums` then hold only
        the rows its checks read."""
        return self.prepared is None

    @property
    def n_frames(self) -> int:
        """Frames in the capture."""
        return len(self.frames) if self.prepared is None else int(self.prepared.n_frames)

    def status_counts(self, statuses: int) -> npt.NDArray[np.int64]:
        """Checksums of the whole capture per status value: index s counts status s, with
        at least `statuses` entries (more when a higher status value occurs)."""
        if self.prepared is None:
            counts: npt.NDArray[np.int64] = np.bincount(
                self.checksums["status"].astype(np.int64), minlength=statuses
            )
            return counts
        status: npt.NDArray[np.int64] = self.prepared.status
        return np.pad(status, (0, max(statuses - len(status), 0)))
