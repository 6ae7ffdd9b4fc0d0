"""The reference verifier: records in, the two columnar tables out (`tables.FRAME_DTYPE`,
`tables.CHECKSUM_DTYPE`), exactly as the fast path must produce them.

Frame columns (one row per record):

* identity: `frame` = record index, `capture`, `iface`, `ts_ns`, `caplen`, `wirelen`,
  `linktype`, `file_off` = record file offset; `direction` = the record's, else from the SLL
  packet type (4 outbound, 0-3 inbound); `sll_pkttype` = SLL/SLL2 packet type (-1 when not
  SLL or above 127).
* link: `eth_src`/`eth_dst` of the outermost Ethernet header (0 when none); `vlan_depth`
  and `vlan_id` (outermost) count the tags before the outermost network header; `l2_len` =
  offset of the outermost network header (IP/ARP; for other payloads where the link layer
  ends; 0 when the link header itself is cut).
* padding/trailer (`trailer.split_trailer`): bytes captured after the outermost network
  message's own end (IP total length, ARP size, 802.3 length). On Ethernet the ones below
  frame offset 60 are `pad_len` (eth.padding), the rest `trailer_len` (eth.trailer), as
  Wireshark splits them; SLL/SLL2 with hatype Ethernet use 60 - 14 + the SLL header length;
  other link types have no padding (pad_len and trailer_len saturate at 65535).
  `trailer_off` = where those bytes start, -1 when none;
  `trailer_nonzero_pad` = 1 when a padding byte is not zero.
* network: the innermost IP datagram that is not quoted inside an ICMP error fills
  `ip_version`, `ip_off`, `src_*`, `dst_*` (the wire destination), `ip_len` (IPv4 total
  length as stated, 0 for TSO; IPv6 40 + payload length), `ip_hdr_len` (IHL*4, IPv6 40 +
  extension headers up to the upper layer), `ip_id` (IPv4 id; IPv6 fragment id or -1),
  `ttl`, `dsfield`, `ip_flags` (bit0 DF, bit1 MF), `frag_off` (bytes), `ip_proto` (after the
  extension chain, -1 when cut); `tunnel_depth` = such datagrams - 1; `outer_ip_len` = the
  outermost one's stated length (IPv6 40 + plen), 0 when none.
* transport (the innermost datagram's upper layer, in this frame): `l4_off`; `sport`/`dport`
  (TCP, UDP, UDP-Lite; else -1); the TCP columns from its header and options (MSS,
  window scale, SACK-permitted, timestamps; 0/-1 when absent); `l4_payload_len` = upper
  length by the IP header - upper header length (TCP data offset, 8 for UDP/ICMP/ICMPv6/
  IGMP, the GRE header length; 0 when no upper header); ICMP/ICMPv6 `icmp_*` columns
  (`icmp_mtu` from fragmentation-needed or packet-too-big); `payload_hash` = `fnv.payload_hash`
  of the captured bytes after the upper header up to the datagram's end.
* `flags` (tables.FrameFlag): SNAPLEN, MALFORMED, FRAGMENT, REASSEMBLED, NOT_IP,
  UNSUPPORTED_LINK, IPV4_LEN_ZERO, JUMBOGRAM (IPv6 length derived), SRH (a routing header
  with segments left), TEXT_FIELDS (text records).
* `cksum_row`, `n_cksum`: the frame's rows in the checksum table.

Checksum rows (see `decode.checksums`): in dissection order, outer first; `depth` counts
earlier rows of the same proto in the frame. Fragments: the first fragment gets an
unverified entry for its upper layer (value known); the frame whose fragment completes the
datagram gets the verdict over the reassembled bytes with Note.REASSEMBLED (field_off -1
unless that frame is the first fragment), replacing the first fragment's entry when it is
the same frame; other fragments have no upper-layer entry (tshark shows none either).

Always holds: packet bytes never raise; rows come out in record order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from wiredoctor.capture.record import Direction, LinkType, Record
from wiredoctor.decode.checksums import (
    UPPER_PROTO,
    Occurrence,
    UpperContext,
    ipv4_header,
    unverified_fragment,
    upper_layer,
)
from wiredoctor.decode.fnv import payload_hash
from wiredoctor.decode.frame import RAW_LINKS, Datagram, DecodedFrame, decode_frame
from wiredoctor.decode.ipv4 import IPv4
from wiredoctor.decode.ipv6 import IPv6, IPv6Routing
from wiredoctor.decode.l4 import Icmp, Icmpv6, Igmp, Udp, UdpLite
from wiredoctor.decode.link import Ethernet, LinuxSll, LinuxSll2, VlanTag
from wiredoctor.decode.reassembly import FirstFragment, Fragments
from wiredoctor.decode.tcp import Tcp, TcpMss, TcpSackPermitted, TcpTimestamps, TcpWindowScale
from wiredoctor.decode.trailer import split_trailer
from wiredoctor.decode.tunnel import Gre
from wiredoctor.decode.values import BadLength, Truncated
from wiredoctor.tables import (
    CHECKSUM_DTYPE,
    FRAME_DTYPE,
    ChecksumTable,
    FrameFlag,
    FrameTable,
    empty_checksums,
    empty_frames,
    ipv4_mapped,
    ipv6_halves,
)

FRAME_FIELDS: tuple[str, ...] = tuple(FRAME_DTYPE.names or ())
CHECKSUM_FIELDS: tuple[str, ...] = tuple(CHECKSUM_DTYPE.names or ())
_FRAME_DEFAULTS: dict[str, Any] = dict(zip(FRAME_FIELDS, empty_frames(1)[0].item(), strict=True))

SUPPORTED_LINKS = frozenset(int(t) for t in LinkType if t != LinkType.TEXT_FIELDS) | RAW_LINKS

ChecksumTuple = tuple[int, int, int, int, int, int, int, int, int, int, int, int]


def checksum_values(frame: int, capture_index: int, occ: Occurrence, depth: int) -> tuple[int, ...]:
    """A checksum occurrence as one CHECKSUM_DTYPE row, in the dtype's field order."""
    return (
        frame,
        capture_index,
        int(occ.proto),
        depth,
        int(occ.status),
        int(occ.cause),
        int(occ.note),
        occ.value,
        occ.expected,
        occ.partial,
        occ.field_off,
        occ.length,
    )


class Verifier:
    """Verifies records one at a time, keeping fragment state across them."""

    def __init__(
        self, capture_index: int = 0, *, hasher: Callable[[bytes], int] = payload_hash
    ) -> None:
        self.capture_index = capture_index
        self.hasher = hasher
        """Computes `payload_hash` (the fast path passes its compiled twin, same values)."""
        self.fragments = Fragments()
        """Reassembly state; the fast path feeds the fragments it walks itself here too."""

    def feed(self, record: Record) -> tuple[FrameTable, ChecksumTable]:
        """One record's frame row (a 1-row FRAME_DTYPE array) and checksum rows.

        `cksum_row` is left 0 (the caller knows where the rows land); `n_cksum` is set.
        """
        frame, rows = self.feed_tuples(record)
        frame_array = np.array([frame], dtype=FRAME_DTYPE)
        return frame_array, np.array(rows, dtype=CHECKSUM_DTYPE)

    def feed_tuples(self, record: Record) -> tuple[tuple[Any, ...], list[tuple[int, ...]]]:
        """`feed` as plain tuples in the dtypes' field order (cheaper to collect)."""
        if record.stated is not None:
            return _stated(record, self.capture_index)
        decoded = decode_frame(record)
        occurrences, completed = self._occurrences(decoded)
        rows: list[tuple[int, ...]] = []
        seen: dict[int, int] = {}
        for occ in occurrences:
            depth = seen.get(occ.proto, 0)
            seen[occ.proto] = depth + 1
            rows.append(checksum_values(record.index, self.capture_index, occ, depth))
        frame = _frame_values(decoded, self.capture_index, completed, self.hasher)
        frame["n_cksum"] = min(len(rows), 255)
        return tuple(frame[name] for name in FRAME_FIELDS), rows

    def _occurrences(self, decoded: DecodedFrame) -> tuple[list[Occurrence], bool]:
        record = decoded.record
        data = record.data
        snaplen = record.caplen < record.wirelen
        by_ip = {id(d.ip): d for d in decoded.datagrams}
        by_upper = {id(d.upper): d for d in decoded.datagrams if d.upper is not None}
        out: list[Occurrence] = []
        completed = False
        for layer in decoded.layers:
            if isinstance(layer, IPv4 | IPv6):
                datagram = by_ip.get(id(layer))
                if isinstance(layer, IPv4):
                    out.append(ipv4_header(data, layer))
                if datagram is not None and datagram.is_fragment and not datagram.quoted:
                    done = self._fragment(record, datagram, out, snaplen)
                    completed = completed or done
                continue
            datagram = by_upper.get(id(layer))
            if datagram is None or datagram.is_fragment:
                continue
            proto = UPPER_PROTO.get(datagram.protocol)
            if proto is None or (isinstance(layer, Gre) and not layer.checksum_present):
                continue
            offset = datagram.upper_offset
            available = max(min(datagram.limit, datagram.end) - offset, 0)
            length, lie = datagram.upper_length, datagram.length_lie
            if lie and not snaplen:
                # The IP length claims bytes the wire never had: judge what is there, as
                # Wireshark does after clamping the reported length.
                length, lie = min(length, available), False
            ctx = UpperContext(
                source=datagram.pseudo_source,
                destination=datagram.pseudo_destination,
                wire_destination=datagram.ip.destination,
                ipv6=isinstance(datagram.ip, IPv6),
                length=length,
                available=available,
                snaplen=snaplen,
                length_lie=lie,
                quoted=datagram.quoted,
                field_base=0,
            )
            out.append(upper_layer(proto, data, offset, ctx))
        return out, completed

    def _fragment(
        self, record: Record, datagram: Datagram, out: list[Occurrence], snaplen: bool
    ) -> bool:
        """Add this fragment; append the entries it brings. True when it completes one."""
        ip = datagram.ip
        key = (
            ip.version,
            ip.source,
            ip.destination,
            datagram.fragment_id,
            ip.protocol if isinstance(ip, IPv4) else 0,
        )
        data = record.data
        start = datagram.fragment_start
        stop = min(datagram.end, datagram.limit)
        first: FirstFragment | None = None
        first_entry: Occurrence | None = None
        if datagram.fragment_offset == 0 and datagram.upper_offset >= 0:
            proto = UPPER_PROTO.get(datagram.protocol)
            if proto is not None:
                first = FirstFragment(
                    proto=proto,
                    relative=datagram.upper_offset - start,
                    source=datagram.pseudo_source,
                    destination=datagram.pseudo_destination,
                    wire_destination=ip.destination,
                    ipv6=isinstance(ip, IPv6),
                )
                available = max(stop - datagram.upper_offset, 0)
                first_entry = unverified_fragment(proto, data, datagram.upper_offset, available)
        done, entry = self.fragments.add(
            key,
            record.index,
            datagram.fragment_offset,
            datagram.more_fragments,
            data[start:stop] if stop > start else b"",
            datagram.end > datagram.limit,
            first=first,
            start=start,
            snaplen=snaplen,
        )
        if not done:
            if first_entry is not None:
                out.append(first_entry)
        elif entry is not None:
            out.append(entry)
        return done


def verify_records(
    records: Iterable[Record], capture_index: int = 0
) -> tuple[FrameTable, ChecksumTable]:
    """Verify every record with the reference decoders; the frame and checksum tables."""
    verifier = Verifier(capture_index)
    frames: list[tuple[Any, ...]] = []
    checksums: list[tuple[int, ...]] = []
    cksum_row = FRAME_FIELDS.index("cksum_row")
    for record in records:
        frame, rows = verifier.feed_tuples(record)
        if len(frame) == len(FRAME_FIELDS):
            row = list(frame)
            row[cksum_row] = len(checksums)
            frames.append(tuple(row))
        checksums.extend(rows)
    frame_table = np.array(frames, dtype=FRAME_DTYPE) if frames else empty_frames(0)
    checksum_table = np.array(checksums, dtype=CHECKSUM_DTYPE) if checksums else empty_checksums(0)
    return frame_table, checksum_table


def _frame_values(
    decoded: DecodedFrame, capture: int, completed: bool, hasher: Callable[[bytes], int]
) -> dict[str, Any]:
    record = decoded.record
    row = dict(_FRAME_DEFAULTS)
    flags = FrameFlag.NONE
    row.update(
        frame=record.index,
        capture=capture,
        iface=record.interface,
        ts_ns=record.ts_ns,
        caplen=record.caplen,
        wirelen=record.wirelen,
        linktype=record.linktype,
        file_off=record.file_offset,
        direction=int(record.direction),
    )
    if record.caplen < record.wirelen:
        flags |= FrameFlag.SNAPLEN
    if record.linktype not in SUPPORTED_LINKS:
        flags |= FrameFlag.UNSUPPORTED_LINK
    if decoded.malformed or any(isinstance(layer, BadLength) for layer in decoded.layers):
        flags |= FrameFlag.MALFORMED
    if completed:
        flags |= FrameFlag.REASSEMBLED
    _link_columns(decoded, row)
    padding = split_trailer(decoded)
    row.update(
        pad_len=min(padding.pad_len, 0xFFFF),
        trailer_len=min(padding.trailer_len, 0xFFFF),  # uint16 column: saturates
        trailer_off=padding.trailer_off,
        trailer_nonzero_pad=int(padding.nonzero_pad),
    )
    outer = [d for d in decoded.datagrams if not d.quoted]
    if not outer:
        flags |= FrameFlag.NOT_IP
        row["flags"] = int(flags)
        return row
    first, inner = outer[0], outer[-1]
    row["tunnel_depth"] = len(outer) - 1
    row["outer_ip_len"] = _ip_len(first.ip)
    for datagram in decoded.datagrams:
        if isinstance(datagram.ip, IPv4) and datagram.ip.total_length == 0:
            flags |= FrameFlag.IPV4_LEN_ZERO
        if isinstance(datagram.ip, IPv6) and datagram.length_derived:
            flags |= FrameFlag.JUMBOGRAM
        if any(isinstance(e, IPv6Routing) and e.segments_left > 0 for e in datagram.extensions):
            flags |= FrameFlag.SRH
    if inner.is_fragment:
        flags |= FrameFlag.FRAGMENT
    _network_columns(inner, row)
    _transport_columns(decoded, inner, row, hasher)
    row["flags"] = int(flags)
    return row


def _ip_len(ip: IPv4 | IPv6) -> int:
    return ip.total_length if isinstance(ip, IPv4) else 40 + ip.payload_length


def _link_columns(decoded: DecodedFrame, row: dict[str, Any]) -> None:
    direction = decoded.record.direction
    network = decoded.network_offset
    vlans: list[VlanTag] = []
    for layer in decoded.layers:
        if isinstance(layer, LinuxSll | LinuxSll2):
            # The column is int8: SLL types are 0..4; a value the column cannot hold is absent.
            row["sll_pkttype"] = layer.packet_type if layer.packet_type <= 127 else -1
            if direction == Direction.UNKNOWN and layer.packet_type <= 4:
                out = layer.packet_type == 4
                row["direction"] = int(Direction.OUTBOUND if out else Direction.INBOUND)
        elif isinstance(layer, Ethernet) and row["eth_src"] == 0 and row["eth_dst"] == 0:
            row["eth_src"] = int.from_bytes(layer.source, "big")
            row["eth_dst"] = int.from_bytes(layer.destination, "big")
        elif isinstance(layer, VlanTag) and (network < 0 or layer.offset < network):
            vlans.append(layer)
        elif isinstance(layer, IPv4 | IPv6):
            break
    row["vlan_depth"] = len(vlans)
    row["vlan_id"] = vlans[0].vlan_id if vlans else -1
    row["l2_len"] = min(max(network, 0), 0xFFFF)


def _network_columns(datagram: Datagram, row: dict[str, Any]) -> None:
    ip = datagram.ip
    row["ip_off"] = ip.offset
    row["ip_len"] = _ip_len(ip)
    row["ip_hdr_len"] = min(datagram.header_length, 0xFFFF)  # uint16 column: saturates
    row["ip_proto"] = datagram.protocol
    row["frag_off"] = datagram.fragment_offset
    if isinstance(ip, IPv4):
        row["ip_version"] = 4
        row["src_hi"], row["src_lo"] = ipv4_mapped(ip.source)
        row["dst_hi"], row["dst_lo"] = ipv4_mapped(ip.destination)
        row["ip_id"] = ip.identification
        row["ttl"] = ip.ttl
        row["dsfield"] = ip.dsfield
        row["ip_flags"] = int(ip.dont_fragment) | int(ip.more_fragments) << 1
    else:
        row["ip_version"] = 6
        row["src_hi"], row["src_lo"] = ipv6_halves(ip.source)
        row["dst_hi"], row["dst_lo"] = ipv6_halves(ip.destination)
        row["ip_id"] = datagram.fragment_id
        row["ttl"] = ip.hop_limit
        row["dsfield"] = ip.traffic_class
        row["ip_flags"] = int(datagram.more_fragments) << 1


def _transport_columns(
    decoded: DecodedFrame, datagram: Datagram, row: dict[str, Any], hasher: Callable[[bytes], int]
) -> None:
    upper = datagram.upper
    if datagram.upper_offset < 0 or datagram.fragment_offset != 0:
        return
    row["l4_off"] = datagram.upper_offset
    if isinstance(upper, Truncated):
        return
    header = 0  # an upper layer without a decoder here: all of it is payload
    if isinstance(upper, Tcp):
        header = upper.header_length
        _tcp_columns(upper, row)
    elif isinstance(upper, Gre):
        header = upper.header_length
    elif isinstance(upper, Udp | UdpLite):
        header = 8
        row["sport"], row["dport"] = upper.source_port, upper.destination_port
    elif isinstance(upper, Icmp | Icmpv6):
        header = 8
        row["icmp_type"], row["icmp_code"] = upper.type, upper.code
        ident, seq = upper.identifier, upper.sequence
        mtu = upper.next_hop_mtu if isinstance(upper, Icmp) else upper.mtu
        row["icmp_id"] = -1 if ident is None else ident
        row["icmp_seq"] = -1 if seq is None else seq
        row["icmp_mtu"] = -1 if mtu is None else min(mtu, 0x7FFF_FFFF)  # int32 column: saturates
    elif isinstance(upper, Igmp):
        header = 8
    row["l4_payload_len"] = max(datagram.upper_length - header, 0)
    start = datagram.upper_offset + header
    stop = min(datagram.end, datagram.limit)
    row["payload_hash"] = hasher(decoded.record.data[start:stop]) if stop > start else 0


def _tcp_columns(tcp: Tcp, row: dict[str, Any]) -> None:
    row["sport"], row["dport"] = tcp.source_port, tcp.destination_port
    row["tcp_seq"], row["tcp_ack"] = tcp.sequence, tcp.acknowledgment
    row["tcp_flags"], row["tcp_win"] = tcp.flags, tcp.window
    row["tcp_hdr_len"] = tcp.header_length
    mss = tcp.option(TcpMss)
    if isinstance(mss, TcpMss):
        row["tcp_mss"] = mss.value
    wscale = tcp.option(TcpWindowScale)
    if isinstance(wscale, TcpWindowScale):
        row["tcp_wscale"] = wscale.shift
    row["tcp_sack_perm"] = int(tcp.option(TcpSackPermitted) is not None)
    stamps = tcp.option(TcpTimestamps)
    if isinstance(stamps, TcpTimestamps):
        row["tcp_has_ts"] = 1
        row["tcp_tsval"], row["tcp_tsecr"] = stamps.tsval, stamps.tsecr


def _stated(record: Record, capture: int) -> tuple[tuple[Any, ...], list[tuple[int, ...]]]:
    """Rows for a text-only record, from the text reader (flagged TEXT_FIELDS)."""
    try:
        from wiredoctor.textio.rows import stated_rows
    except ImportError:
        row = dict(_FRAME_DEFAULTS)
        row.update(
            frame=record.index,
            capture=capture,
            ts_ns=record.ts_ns,
            caplen=record.caplen,
            wirelen=record.wirelen,
            linktype=record.linktype,
            file_off=record.file_offset,
            flags=int(FrameFlag.TEXT_FIELDS | FrameFlag.NOT_IP),
        )
        return tuple(row[name] for name in FRAME_FIELDS), []
    frame_row, checksum_rows = stated_rows(record, capture)
    frame = np.asarray(frame_row, dtype=FRAME_DTYPE).reshape(-1)
    rows = np.asarray(checksum_rows, dtype=CHECKSUM_DTYPE).reshape(-1)
    return tuple(frame[0].item()), [tuple(r.item()) for r in rows]
