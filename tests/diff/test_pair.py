"""Pairing: NAT, drops, duplicates, reordering, retransmissions, clock offset, link changes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from diff.scenes import CLIENT, SERVER, Hop, Packet, handshake, two_points
from diff.tablebuild import (
    ETHERNET,
    LINUX_SLL,
    build_tables,
    ether,
    forward,
    ipip,
    ipv4_icmp_echo,
    ipv4_tcp,
    ipv4_udp,
    sll,
    tcp_options,
)
from wiredoctor.diff import diff_captures, pair_rows
from wiredoctor.diff.result import Match


def _pairs(result_a_rows: np.ndarray, result_b_rows: np.ndarray, a, b) -> list[tuple[int, int]]:
    return [
        (int(a.frames["frame"][x]), int(b.frames["frame"][y]))
        for x, y in zip(result_a_rows, result_b_rows, strict=True)
    ]


def test_plain_forwarding_pairs_everything_exactly() -> None:
    a, b = two_points(handshake(), Hop())
    pairing = pair_rows(a, b)
    assert pairing.a_rows.size == 14
    assert pairing.only_a.size == 0 and pairing.only_b.size == 0
    assert set(pairing.match.tolist()) == {Match.EXACT}
    assert np.all(pairing.confidence == 1.0)
    # Every A frame pairs with the B frame holding the same TCP seq/ack.
    fa, fb = a.frames[pairing.a_rows], b.frames[pairing.b_rows]
    assert np.array_equal(fa["tcp_seq"], fb["tcp_seq"])
    assert np.array_equal(fa["tcp_ack"], fb["tcp_ack"])


def _snat(ip: bytes, to_server: bool) -> bytes:
    """Source NAT 10.0.1.2:40000 → 192.0.2.1:61000 and back, checksums recomputed."""
    from wiredoctor.checksum.rewrite import recompute_checksums

    mapped = bytes([192, 0, 2, 1])
    original = bytes([10, 0, 1, 2])
    buf = bytearray(ip)
    if to_server:
        buf[12:16] = mapped
        buf[20:22] = (61000).to_bytes(2, "big")
    else:
        buf[16:20] = original
        buf[22:24] = (40000).to_bytes(2, "big")
    return recompute_checksums(bytes(buf))


def _unnat_server_side(packets: list[Packet]) -> list[Packet]:
    """Server replies go to the mapped address; the NAT maps them back to the client."""
    out = []
    for p in packets:
        if p.to_server:
            out.append(p)
            continue
        buf = bytearray(p.ip)
        buf[16:20] = bytes([192, 0, 2, 1])
        buf[22:24] = (61000).to_bytes(2, "big")
        from wiredoctor.checksum.rewrite import recompute_checksums

        out.append(Packet(ip=recompute_checksums(bytes(buf)), t_ns=p.t_ns, to_server=False))
    return out


def test_nat_pairs_with_rewritten_addresses_and_ports() -> None:
    a, b = two_points(_unnat_server_side(handshake()), Hop(rewrite=[_snat]))
    result = diff_captures(a, b)
    assert result.pairs == 14
    assert result.pairing.only_a.size == 0 and result.pairing.only_b.size == 0
    changes = {c.field for c in result.pair_changes(0)}
    assert {"ip.src", "tcp.srcport", "ip.ttl"} <= changes
    nat = next(d for d in result.diagnoses if d.id == "nat")
    pairs = {(m["a"]["src"], m["b"]["src"], m["direction"]) for m in nat.facts["mapping"]}
    assert (f"{CLIENT}:40000", "192.0.2.1:61000", "a->b") in pairs
    assert ("10.0.2.2:80", "10.0.2.2:80", "b->a") in pairs
    back = next(m for m in nat.facts["mapping"] if m["direction"] == "b->a")
    assert back["a"]["dst"] == f"{CLIENT}:40000" and back["b"]["dst"] == "192.0.2.1:61000"
    assert nat.facts["kinds"] == ["source"]


def test_nat_with_randomised_sequence_numbers_pairs_by_flow() -> None:
    """A firewall that NATs and shifts client sequence numbers: content + flow still pair."""

    def shift_seq(ip: bytes, to_server: bool) -> bytes:
        from wiredoctor.checksum.rewrite import recompute_checksums

        buf = bytearray(ip)
        # The client's seq on the way out, the server's ack (in the shifted space) on the way
        # back (RFC 9293 §3.4).
        field, shift = (24, 0x10000000) if to_server else (28, -0x10000000)
        value = (int.from_bytes(buf[field : field + 4], "big") + shift) % (1 << 32)
        buf[field : field + 4] = value.to_bytes(4, "big")
        return recompute_checksums(bytes(buf))

    def unshift_server_side(packets: list[Packet]) -> list[Packet]:
        from wiredoctor.checksum.rewrite import recompute_checksums

        out = []
        for p in packets:
            if p.to_server:
                out.append(p)
                continue
            buf = bytearray(p.ip)
            value = (int.from_bytes(buf[28:32], "big") + 0x10000000) % (1 << 32)
            buf[28:32] = value.to_bytes(4, "big")
            out.append(Packet(ip=recompute_checksums(bytes(buf)), t_ns=p.t_ns, to_server=False))
        return out

    packets = unshift_server_side(_unnat_server_side(handshake()))
    a, b = two_points(packets, Hop(rewrite=[_snat, shift_seq]))
    result = diff_captures(a, b)
    assert result.pairs == 14
    assert {Match.IDS, Match.FLOW_IDS} & set(result.pairing.match.tolist())
    seq = next(f for f in result.findings if f.symbol == "diff-tcp-seq-rewritten")
    assert seq.facts["offsets"] == [0x10000000]


def test_drops_leave_the_rest_paired_and_are_lost() -> None:
    packets = handshake()
    dropped = packets[4].ip  # the client's second data segment
    a, b = two_points(packets, Hop(drop=lambda ip, to_server: ip == dropped))
    result = diff_captures(a, b)
    assert result.pairs == 13
    lost = [int(a.frames["frame"][r]) for r in result.lost_a]
    assert len(lost) == 1
    assert int(a.frames["tcp_seq"][result.lost_a[0]]) == 201
    assert result.lost_b.size == 0


def test_reordering_keeps_pairs_right() -> None:
    a, b = two_points(handshake(), Hop())
    # Swap two B frames in time: the pairing must follow the content, not the order.
    ts = b.frames["ts_ns"].copy()
    ts[3], ts[5] = ts[5], ts[3]
    b.frames["ts_ns"] = ts
    pairing = pair_rows(a, b)
    fa, fb = a.frames[pairing.a_rows], b.frames[pairing.b_rows]
    assert pairing.a_rows.size == 14
    assert np.array_equal(fa["payload_hash"], fb["payload_hash"])
    assert np.array_equal(fa["tcp_seq"], fb["tcp_seq"])


def test_duplicates_in_b_are_reported_as_copies() -> None:
    syn = ipv4_tcp(CLIENT, SERVER, 40000, 80, seq=1, flags=0x02, options=tcp_options(mss=1460))
    data = ipv4_udp(CLIENT, SERVER, 5000, 53, b"query", ip_id=77)
    at_a = [(1_000, ether(syn), ETHERNET), (2_000, ether(data), ETHERNET)]
    at_b = [
        (1_500, ether(forward(syn)), ETHERNET),
        (2_500, ether(forward(data)), ETHERNET),
        (2_600, ether(forward(data)), ETHERNET),
    ]
    a, b = build_tables(at_a, "a"), build_tables(at_b, "b", 1)
    result = diff_captures(a, b)
    assert result.pairs == 2
    assert result.pairing.duplicates_b.tolist() == [[2, 1]]
    assert _pairs(result.pairing.a_rows, result.pairing.b_rows, a, b) == [(1, 1), (2, 2)]
    assert result.lost_b.size == 0
    assert any(f.symbol == "diff-duplicates" for f in result.findings)


def test_clock_offset_is_estimated_from_both_directions() -> None:
    offset = 3_250_000_000  # B's clock runs 3.25 s ahead
    a, b = two_points(handshake(), Hop(delay_ns=40_000, clock_offset_ns=offset))
    result = diff_captures(a, b)
    assert result.pairs == 14
    assert result.clock.offset_ns == offset
    assert result.clock.one_way_delay_ns == 40_000
    forward_pairs = result.direction > 0
    assert np.all(result.delay_ns[forward_pairs] == 40_000)
    assert np.all(result.delay_ns[~forward_pairs] == -40_000)


def test_retransmissions_pair_in_order() -> None:
    """The same segment sent twice (same bytes, no timestamps): first with first."""
    seg = ipv4_tcp(CLIENT, SERVER, 40000, 80, seq=500, ack=9, payload=b"x" * 50, ip_id=5)
    other = ipv4_tcp(CLIENT, SERVER, 40000, 80, seq=550, ack=9, payload=b"y" * 50, ip_id=6)
    at_a = [
        (0, ether(seg), ETHERNET),
        (1_000, ether(other), ETHERNET),
        (300_000_000, ether(seg), ETHERNET),
    ]
    at_b = [
        (40_000, ether(forward(seg)), ETHERNET),
        (41_000, ether(forward(other)), ETHERNET),
        (300_040_000, ether(forward(seg)), ETHERNET),
    ]
    a, b = build_tables(at_a, "a"), build_tables(at_b, "b", 1)
    pairing = pair_rows(a, b)
    assert _pairs(pairing.a_rows, pairing.b_rows, a, b) == [(1, 1), (2, 2), (3, 3)]


def test_retransmission_lost_first_time_pairs_by_time() -> None:
    """A sends a segment twice; only the retransmission reaches B: A's second pairs."""
    seg = ipv4_tcp(CLIENT, SERVER, 40000, 80, seq=500, ack=9, payload=b"x" * 50, ip_id=5)
    warm = [
        ipv4_tcp(CLIENT, SERVER, 40000, 80, seq=100 + k, ack=9, payload=bytes([k]), ip_id=1 + k)
        for k in range(4)
    ]
    at_a = [(k * 1_000, ether(p), ETHERNET) for k, p in enumerate(warm)]
    at_b = [(k * 1_000 + 40_000, ether(forward(p)), ETHERNET) for k, p in enumerate(warm)]
    at_a += [(10_000_000, ether(seg), ETHERNET), (210_000_000, ether(seg), ETHERNET)]
    at_b += [(210_040_000, ether(forward(seg)), ETHERNET)]
    a, b = build_tables(at_a, "a"), build_tables(at_b, "b", 1)
    result = diff_captures(a, b)
    assert (6, 5) in _pairs(result.pairing.a_rows, result.pairing.b_rows, a, b)
    assert [int(a.frames["frame"][r]) for r in result.lost_a] == [5]
    assert result.pairing.ambiguous_groups == 1


def test_icmp_echo_with_rewritten_identifier_pairs() -> None:
    """Linux NAT rewrites the ICMP echo identifier like a port."""
    pings = [ipv4_icmp_echo(CLIENT, SERVER, 0x1234, k, b"p" * 56, ip_id=100 + k) for k in range(3)]
    at_a = [(k * 1_000_000, ether(p), ETHERNET) for k, p in enumerate(pings)]
    rewritten = []
    for p in pings:
        from wiredoctor.checksum.rewrite import recompute_checksums

        buf = bytearray(forward(p))
        buf[24:26] = (0x9999).to_bytes(2, "big")
        rewritten.append(recompute_checksums(bytes(buf)))
    at_b = [(k * 1_000_000 + 40_000, ether(p), ETHERNET) for k, p in enumerate(rewritten)]
    a, b = build_tables(at_a, "a"), build_tables(at_b, "b", 1)
    result = diff_captures(a, b)
    assert result.pairs == 3
    fields = {c.field: (c.a, c.b) for c in result.pair_changes(0)}
    assert fields["icmp.ident"] == (0x1234, 0x9999)
    assert result.checksum_update(0)["icmp"] == "correct"


def test_vlan_pushed_link_type_changed_and_tunnel_added() -> None:
    """A: Ethernet untagged; B: SLL of the same packets inside IPIP. Inner packets pair."""
    pkts = [ipv4_udp(CLIENT, SERVER, 5000 + k, 53, b"q%d" % k, ip_id=k + 1) for k in range(4)]
    at_a = [(k * 1_000, ether(p, vlan=None), ETHERNET) for k, p in enumerate(pkts)]
    at_b = [
        (k * 1_000 + 500, sll(ipip("192.0.2.1", "192.0.2.2", p)), LINUX_SLL)
        for k, p in enumerate(pkts)
    ]
    a, b = build_tables(at_a, "a"), build_tables(at_b, "b", 1)
    result = diff_captures(a, b)
    assert result.pairs == 4
    fields = [c.field for c in result.pair_changes(0)]
    assert fields == ["tunnel"]  # no eth.* change across link types, no TTL change inside
    assert result.checksum_update(0) == {"ip": "unchanged", "udp": "unchanged"}
    assert any("different link types" in n for n in result.notes)
    assert any("tunnel" in n for n in result.notes)
    # The same with a VLAN pushed on an Ethernet B.
    at_b2 = [(k * 1_000 + 500, ether(forward(p), vlan=42), ETHERNET) for k, p in enumerate(pkts)]
    result2 = diff_captures(a, build_tables(at_b2, "b2", 1))
    vlan = next(c for c in result2.pair_changes(0) if c.field == "vlan.id")
    assert (vlan.a, vlan.b) == (None, 42)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(min_value=4, max_value=30),
    data=st.data(),
)
def test_random_drops_duplicates_and_jitter(n: int, data: st.DataObject) -> None:
    """Whatever drops, duplicates and reordering happen, pairs follow the content."""
    dropped = data.draw(st.sets(st.integers(1, n - 2), max_size=n // 3))
    doubled = data.draw(st.sets(st.integers(0, n - 1), max_size=3)) - dropped
    jitter = data.draw(st.lists(st.integers(0, 30_000), min_size=n, max_size=n))
    segs = [
        ipv4_tcp(CLIENT, SERVER, 40000, 80, seq=1000 + 100 * k, ack=1, ip_id=k + 1,
                 payload=bytes([k % 251]) * 100)
        for k in range(n)
    ]  # fmt: skip
    at_a = [(k * 50_000, ether(p), ETHERNET) for k, p in enumerate(segs)]
    at_b = []
    for k, p in enumerate(segs):
        if k in dropped:
            continue
        t = k * 50_000 + 100_000 + jitter[k]
        at_b.append((t, ether(forward(p)), ETHERNET))
        if k in doubled:
            at_b.append((t + 1_000, ether(forward(p)), ETHERNET))
    at_b.sort(key=lambda f: f[0])
    a, b = build_tables(at_a, "a"), build_tables(at_b, "b", 1)
    result = diff_captures(a, b)
    fa, fb = a.frames[result.pairing.a_rows], b.frames[result.pairing.b_rows]
    assert result.pairs == n - len(dropped)
    assert np.array_equal(fa["tcp_seq"], fb["tcp_seq"])
    assert sorted(int(a.frames["tcp_seq"][r]) for r in result.lost_a) == sorted(
        1000 + 100 * k for k in dropped
    )
    assert result.pairing.duplicates_b.shape[0] == len(doubled)


def test_drop_in_a_flow_whose_replies_also_pass_a_first_is_lost() -> None:
    # Both directions of the connection cross A before B (two taps on one path segment):
    # the dropped SYN-ACK is the only packet of its direction, and it still counts as lost.
    from dataclasses import replace

    sent = handshake()
    syn_ack = sent[1].ip
    # The client's packets and the SYN-ACK: nothing else flows server → client.
    packets = [replace(p, to_server=True) for p in sent if p.to_server or p.ip == syn_ack]
    a, b = two_points(packets, Hop(drop=lambda ip, to_server: ip == syn_ack))
    result = diff_captures(a, b)
    assert result.pairs == len(packets) - 1
    assert [int(a.frames["tcp_flags"][r]) & 0x12 for r in result.lost_a] == [0x12]
    assert result.lost_b.size == 0
