"""Changes per pair: field values, checksum_update verdicts, byte-level payload ranges."""

from __future__ import annotations

from diff.scenes import CLIENT, SERVER, Hop, clamp, handshake, two_points
from diff.tablebuild import (
    ETHERNET,
    build_tables,
    ether,
    forward,
    ipv4_tcp,
    ipv4_udp,
    set_tcp_checksum,
    tcp_checksum,
)
from wiredoctor.diff import diff_captures


def _off_by_one(ip: bytes, _to_server: bool) -> bytes:
    """What a broken incremental update leaves: the correct TCP checksum − 1."""
    if not ip[33] & 0x02:  # only the SYN / SYN-ACK that the clamp rewrote
        return ip
    value = tcp_checksum(ip)
    return set_tcp_checksum(ip, value - 1 if value > 1 else 0xFFFE)


def _changes(result, i: int) -> dict[str, tuple[object, object]]:
    return {c.field: (c.a, c.b) for c in result.pair_changes(i)}


def test_router_changes_only_macs_ttl_and_ip_checksum() -> None:
    a, b = two_points(handshake(), Hop())
    result = diff_captures(a, b)
    for i in range(result.pairs):
        changes = _changes(result, i)
        assert set(changes) == {"eth.src", "eth.dst", "ip.ttl", "ip.checksum"}
        assert result.checksum_update(i) == {"ip": "correct", "tcp": "unchanged"}
        ttl_a, ttl_b = changes["ip.ttl"]
        # Client → server packets lose a hop between A and B; replies between B and A.
        assert (ttl_a, ttl_b) == ((64, 63) if result.direction[i] > 0 else (63, 64))
    assert result.diagnoses == ()
    assert not result.anomalies
    ttl = next(f for f in result.findings if f.symbol == "diff-ttl-decrement")
    assert {(h["direction"], h["hops"]) for h in ttl.facts["hops"]} == {("a->b", 1), ("b->a", 1)}


def test_mss_clamp_with_correct_checksums() -> None:
    a, b = two_points(handshake(), Hop(rewrite=[clamp(1200)]))
    result = diff_captures(a, b)
    syn, syn_ack = 0, 1
    assert _changes(result, syn)["tcp.options.mss_val"] == (1460, 1200)
    assert _changes(result, syn_ack)["tcp.options.mss_val"] == (1200, 1460)  # B is upstream
    for i in (syn, syn_ack):
        assert result.checksum_update(i) == {"ip": "correct", "tcp": "correct"}
    assert "tcp.options.mss_val" not in _changes(result, 2)
    mss = next(d for d in result.diagnoses if d.id == "mss-clamping")
    assert mss.facts["rewrites"] == [
        {"direction": "a->b", "before": 1460, "after": 1200, "syn": 1, "syn_ack": 0},
        {"direction": "b->a", "before": 1460, "after": 1200, "syn": 0, "syn_ack": 1},
    ]
    assert not result.anomalies


def test_mss_clamp_with_off_by_one_checksums() -> None:
    a, b = two_points(handshake(), Hop(rewrite=[clamp(1200), _off_by_one]))
    result = diff_captures(a, b)
    assert result.checksum_update(0)["tcp"] == "off-by-one"
    assert result.checksum_update(1)["tcp"] == "off-by-one"
    assert all(result.checksum_update(i)["tcp"] == "unchanged" for i in range(2, result.pairs))
    bug = next(d for d in result.diagnoses if d.id == "incremental-checksum-bug")
    assert bug.facts["rewritten_fields"] == ["tcp.options.mss_val"]
    assert bug.facts["protos"] == ["tcp"]
    assert bug.facts["pairs"] == [{"a": 1, "b": 1}, {"a": 2, "b": 2}]
    assert result.anomalies


def test_not_updated_and_wrong_checksums() -> None:
    syn = ipv4_tcp(CLIENT, SERVER, 40000, 80, seq=1, flags=0x02, ip_id=3)
    data = ipv4_tcp(CLIENT, SERVER, 40000, 80, seq=2, payload=b"abcd", ip_id=4)
    # The device rewrote the window but left the checksum; and corrupted another checksum.
    win = bytearray(forward(syn))
    win[34:36] = (1000).to_bytes(2, "big")
    corrupt = set_tcp_checksum(forward(data), tcp_checksum(data) ^ 0x0F0F)
    a = build_tables([(0, ether(syn), ETHERNET), (10, ether(data), ETHERNET)], "a")
    b = build_tables([(5, ether(bytes(win)), ETHERNET), (15, ether(corrupt), ETHERNET)], "b", 1)
    result = diff_captures(a, b)
    assert _changes(result, 0)["tcp.window_size_value"] == (64240, 1000)
    assert result.checksum_update(0)["tcp"] == "not-updated"
    assert result.checksum_update(1)["tcp"] == "wrong"
    corruption = next(d for d in result.diagnoses if d.id == "checksum-corruption")
    assert corruption.facts["not_updated"] == 1


def test_payload_modified_names_byte_ranges() -> None:
    body = b"GET /index.html HTTP/1.1\r\nHost: 10.0.2.2\r\n\r\n"
    seg = ipv4_tcp(CLIENT, SERVER, 40000, 80, seq=7, payload=body, ip_id=9)
    changed = bytearray(body)
    changed[22:24] = b"2."  # "1.1" → "2.."
    from wiredoctor.checksum.rewrite import recompute_checksums

    seg_b = recompute_checksums(
        forward(ipv4_tcp(CLIENT, SERVER, 40000, 80, seq=7, payload=bytes(changed), ip_id=9))
    )
    a = build_tables([(0, ether(seg), ETHERNET)], "a")
    b = build_tables([(40_000, ether(seg_b), ETHERNET)], "b", 1)
    result = diff_captures(a, b)
    assert result.pairs == 1
    changes = _changes(result, 0)
    assert changes["payload[22:24]"] == (body[22:24].hex(), b"2.".hex())
    assert result.checksum_update(0)["tcp"] == "correct"
    modified = next(d for d in result.diagnoses if d.id == "payload-modified")
    assert modified.facts["examples"] == [{"a": 1, "b": 1, "ranges": ["payload[22:24]"]}]
    assert result.anomalies


def test_trailer_added_and_dscp_rewritten() -> None:
    pkts = [ipv4_udp(CLIENT, SERVER, 5000, 53, b"x" * 200, ip_id=k + 1) for k in range(3)]
    remarked = []
    for p in pkts:
        from wiredoctor.checksum.rewrite import recompute_checksums

        buf = bytearray(forward(p))
        buf[1] = 0xB8  # DSCP EF
        remarked.append(recompute_checksums(bytes(buf)))
    a = build_tables([(k, ether(p), ETHERNET) for k, p in enumerate(pkts)], "a")
    b = build_tables(
        [(k + 50, ether(p, trailer=b"\x00\x01"), ETHERNET) for k, p in enumerate(remarked)], "b", 1
    )
    result = diff_captures(a, b)
    changes = _changes(result, 0)
    assert changes["eth.trailer"] == (0, 2)
    assert changes["ip.dsfield"] == (0, 0xB8)
    trailer = next(f for f in result.findings if f.symbol == "diff-trailer-added")
    assert trailer.facts["changes"] == [{"a": 0, "b": 2, "count": 3}]
    dscp = next(f for f in result.findings if f.symbol == "diff-dsfield-rewrite")
    assert dscp.facts["dscp"] is True and dscp.facts["ecn"] is False
