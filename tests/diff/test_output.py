"""`diff --json` shape, the human report, exit statuses, and the command on real files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

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
    tcp_options,
    write_pcap,
)
from wiredoctor.checksum.rewrite import recompute_checksums
from wiredoctor.diff import DiffResult, diff_captures, diff_json
from wiredoctor.diff.jsonstream import write_diff_json
from wiredoctor.report.diff_text import group, render_diff

SEED = Path(__file__).resolve().parents[2] / ".." / "shared" / "seeds" / "004_bdb677358e0f59e7.txt"


def _text(result) -> str:
    out = io.StringIO()
    render_diff(result, Console(file=out, width=400, no_color=True, highlight=False))
    return out.getvalue()


def test_json_has_the_contract_shape() -> None:
    a, b = two_points(handshake(), Hop(rewrite=[clamp(1200)]))
    doc = diff_json(diff_captures(a, b))
    json.dumps(doc)  # only JSON types
    assert doc["schema"] == 1 and doc["a"] == "a.pcap" and doc["b"] == "b.pcap"
    assert doc["only_in_a"] == [] and doc["only_in_b"] == []
    first = doc["pairs"][0]
    assert set(first) >= {"a", "b", "delay_ns", "changes", "checksum_update"}
    assert first["a"] == 1 and first["b"] == 1 and first["delay_ns"] == 40_000
    assert {"field": "tcp.options.mss_val", "a": 1460, "b": 1200} in first["changes"]
    assert first["checksum_update"] == {"ip": "correct", "tcp": "correct"}
    assert first["confidence"] == 1.0 and first["direction"] == "a->b"
    assert [d["id"] for d in doc["diagnoses"]] == ["mss-clamping"]
    assert doc["clock"]["offset_ns"] == 0 and doc["summary"]["pairs"] == 14


def test_human_report_groups_changes_and_marks_bytes() -> None:
    a, b = two_points(handshake(), Hop(rewrite=[clamp(1200)]))
    text = _text(diff_captures(a, b))
    lines = text.splitlines()
    assert lines[0].startswith("No problem between the points")
    assert "14 packets paired; lost A→B: 0, lost B→A: 0" in text
    assert "median one-way delay: 40.0 µs" in text
    assert "6 packets A→B: eth.src, eth.dst, ip.ttl −1, ip.checksum (correct)" in text
    assert "6 packets B→A: eth.src, eth.dst, ip.ttl −1, ip.checksum (correct)" in text
    assert (
        "1 packet A→B: eth.src, eth.dst, ip.ttl −1, ip.checksum (correct), "
        "tcp.options.mss_val 1460→1200, tcp.checksum (correct)"
    ) in text
    assert "Example: A #1 ↔ B #1" in text
    assert any(set(line.strip()) == {"^", " "} for line in lines)  # changed bytes marked


def test_exit_status_and_command_on_pcap_files(tmp_path: Path) -> None:
    pytest.importorskip("wiredoctor.capture.open", reason="capture reader not available")
    from wiredoctor.cli.diff import diff as diff_command

    syn = ipv4_tcp("10.0.1.2", "10.0.2.2", 40000, 80, seq=1, flags=0x02, ip_id=1)
    big = ipv4_tcp("10.0.1.2", "10.0.2.2", 40000, 80, seq=2, payload=b"z" * 1400, ip_id=2)
    small = ipv4_tcp("10.0.1.2", "10.0.2.2", 40000, 80, seq=1402, payload=b"s" * 10, ip_id=3)
    frames_a = [
        (1_000_000_000 + k * 1000, ether(p), ETHERNET) for k, p in enumerate([syn, big, small])
    ]
    write_pcap(tmp_path / "a.pcap", frames_a)
    write_pcap(tmp_path / "same.pcap", frames_a)
    write_pcap(tmp_path / "lossy.pcap", [frames_a[0], frames_a[2]])
    status = diff_command.main(
        [str(tmp_path / "a.pcap"), str(tmp_path / "same.pcap")], standalone_mode=False
    )
    assert status == 0
    status = diff_command.main(
        [str(tmp_path / "a.pcap"), str(tmp_path / "lossy.pcap"), "--json"], standalone_mode=False
    )
    assert status == 1


def test_text_and_json_for_a_small_loss() -> None:
    syn = ipv4_tcp("10.0.1.2", "10.0.2.2", 40000, 80, seq=1, flags=0x02, ip_id=1)
    big = ipv4_tcp("10.0.1.2", "10.0.2.2", 40000, 80, seq=2, payload=b"z" * 1400, ip_id=2)
    small = ipv4_tcp("10.0.1.2", "10.0.2.2", 40000, 80, seq=1402, payload=b"s" * 10, ip_id=3)
    frames = [(k * 1000, ether(p), ETHERNET) for k, p in enumerate([syn, big, small])]
    result = diff_captures(build_tables(frames, "a"), build_tables([frames[0], frames[2]], "b", 1))
    doc = diff_json(result)
    assert doc["only_in_a"] == [2] and doc["lost"]["a_to_b"] == [2]
    lost = next(d for d in doc["diagnoses"] if d["id"] == "packets-lost-between-points")
    part = lost["evidence"]["lost"][0]
    assert part["largest_delivered"] == 50 and part["smallest_lost"] == 1440
    assert part["only_large"] is True
    assert "only packets larger than 50 bytes were lost" in _text(result)


def test_fifth_seed_before_and_after_dumps(tmp_path: Path) -> None:
    """The Tinc report's dumps: MSS 8961 → 1405, TCP checksum off by one, a retransmission."""
    if not SEED.exists():
        pytest.skip(f"seed report not found at {SEED}")
    parse = pytest.importorskip("wiredoctor.textio.parse", reason="text reader not available")
    verify = pytest.importorskip(
        "wiredoctor.decode.verify", reason="reference verifier not available"
    )
    from wiredoctor.tables import CaptureTables

    lines = SEED.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("2015-09-09 11:42:13.076518"))
    middle = next(i for i, line in enumerate(lines) if line.startswith("While here"))
    end = next(i for i, line in enumerate(lines) if line.startswith("That packet then"))
    tables = []
    for index, chunk in enumerate((lines[start:middle], lines[middle + 1 : end])):
        path = tmp_path / f"dump{index}.txt"
        path.write_text("".join(chunk))
        records = parse.parse_text(str(path), path.read_text())
        assert len(records) == 1 and records[0].data
        frames, checksums = verify.verify_records(records, index)
        data = records[0].data
        tables.append(
            CaptureTables(
                path=str(path),
                index=index,
                format="text",
                linktypes=[records[0].linktype],
                frames=frames,
                checksums=checksums,
                read_frame=lambda n, data=data: data,
            )
        )
    result = diff_captures(tables[0], tables[1])
    doc = diff_json(result)
    assert len(doc["pairs"]) == 1
    pair = doc["pairs"][0]
    changes = {c["field"]: (c["a"], c["b"]) for c in pair["changes"]}
    assert changes["tcp.options.mss_val"] == (8961, 1405)
    assert changes["tcp.checksum"] == (0xE771, 0x0301)
    assert changes["tcp.options.timestamp.tsval"] == (140685120, 140685620)
    assert pair["checksum_update"]["tcp"] == "off-by-one"
    assert pair["retransmission"] is True
    bug = next(d for d in doc["diagnoses"] if d["id"] == "incremental-checksum-bug")
    assert bug["evidence"]["rewritten_fields"] == ["tcp.options.mss_val"]
    text = _text(result)
    assert "different transmissions (retransmissions)" in text


def test_bad_input_is_an_input_error(tmp_path: Path) -> None:
    pytest.importorskip("wiredoctor.capture.open", reason="capture reader not available")
    from wiredoctor.cli.diff import diff as diff_command
    from wiredoctor.errors import WiredoctorError

    write_pcap(tmp_path / "ok.pcap", [(0, ether(ipv4_tcp("10.0.0.1", "10.0.0.2", 1, 2)), ETHERNET)])
    with pytest.raises(WiredoctorError) as caught:
        diff_command.main(
            [str(tmp_path / "missing.pcap"), str(tmp_path / "ok.pcap")], standalone_mode=False
        )
    assert caught.value.exit_status == 3
    assert "missing.pcap" in str(caught.value)


def _off_by_one(ip: bytes, _to_server: bool) -> bytes:
    """A broken incremental update on the clamped SYNs: the correct TCP checksum − 1."""
    if not ip[33] & 0x02:
        return ip
    value = tcp_checksum(ip)
    return set_tcp_checksum(ip, value - 1 if value > 1 else 0xFFFE)


def _mixed() -> DiffResult:
    """One capture pair with most kinds of change: null values, byte ranges, duplicates."""
    body = b"GET /index.html HTTP/1.1\r\n\r\n"
    edited = body.replace(b"1.1", b"2.0")
    ts1 = tcp_options(ts=(100, 5))
    ts2 = tcp_options(ts=(200, 5))
    seg = ipv4_tcp(CLIENT, SERVER, 40000, 80, seq=7, payload=b"abc", ip_id=9, options=ts1)
    again = ipv4_tcp(CLIENT, SERVER, 40000, 80, seq=7, payload=b"abc", ip_id=9, options=ts2)
    get = ipv4_tcp(CLIENT, SERVER, 40001, 80, seq=50, payload=body, ip_id=10)
    get_b = recompute_checksums(
        forward(ipv4_tcp(CLIENT, SERVER, 40001, 80, seq=50, payload=edited, ip_id=10))
    )
    dns = ipv4_udp(CLIENT, SERVER, 5000, 53, b"x" * 200, ip_id=11)
    remarked = bytearray(forward(dns))
    remarked[1] = 0xB8  # DSCP EF
    syn = ipv4_tcp(CLIENT, SERVER, 40002, 80, seq=1, flags=0x02, ip_id=12)
    window = bytearray(forward(syn))
    window[34:36] = (1000).to_bytes(2, "big")  # checksum left as it was
    at_a = [
        (0, ether(seg), ETHERNET),
        (1_000, ether(get), ETHERNET),
        (2_000, ether(dns), ETHERNET),
        (3_000, ether(syn), ETHERNET),
    ]
    at_b = [
        (40_000, ether(forward(again), vlan=42), ETHERNET),
        (41_000, ether(get_b), ETHERNET),
        (42_000, ether(recompute_checksums(bytes(remarked)), trailer=b"\x00\x01"), ETHERNET),
        (42_500, ether(recompute_checksums(bytes(remarked)), trailer=b"\x00\x01"), ETHERNET),
        (43_000, ether(bytes(window)), ETHERNET),
    ]
    return diff_captures(build_tables(at_a, "caf\u00e9 a.pcap"), build_tables(at_b, "b", 1))


def _scenes() -> dict[str, DiffResult]:
    third_segment = 3  # handshake() fills the k-th data segment with bytes([k + 1])
    lossy = Hop(
        clock_offset_ns=5_000_000,
        drop=lambda ip, to_server: to_server and len(ip) > 100 and ip[-1] == third_segment,
    )
    unrelated_a = [(0, ether(ipv4_udp(CLIENT, SERVER, 1, 2, b"a", ip_id=1)), ETHERNET)]
    unrelated_b = [(0, ether(ipv4_udp(SERVER, CLIENT, 3, 4, b"b", ip_id=2)), ETHERNET)]
    return {
        "clamp": diff_captures(*two_points(handshake(), Hop(rewrite=[clamp(1200)]))),
        "off-by-one": diff_captures(
            *two_points(handshake(), Hop(rewrite=[clamp(1200), _off_by_one]))
        ),
        "lossy-offset": diff_captures(*two_points(handshake(), lossy)),
        "mixed": _mixed(),
        "no-pairs": diff_captures(
            build_tables(unrelated_a, "a"), build_tables(unrelated_b, "b", 1)
        ),
    }


def test_streamed_json_is_the_document() -> None:
    """The streamed text is `diff_json` compactly dumped, whatever the chunk size."""
    scenes = _scenes()
    kinds: set[str] = set()
    for name, result in scenes.items():
        doc = diff_json(result)
        compact = json.dumps(doc, separators=(",", ":"))
        for chunk in (1, 2, 3, 1 << 14):
            out = io.StringIO()
            write_diff_json(result, out, chunk=chunk)
            text = out.getvalue()
            assert json.loads(text) == doc, (name, chunk)
            assert text == compact, (name, chunk)
        for pair in doc["pairs"]:
            kinds.update(pair)
            kinds.update(change["field"] for change in pair["changes"])
            kinds.update(
                f"null:{c['field']}" for c in pair["changes"] if c["b"] is None or c["a"] is None
            )
    # The scenes reach the rare branches: byte ranges, absent values, optional pair keys.
    assert {"retransmission", "payload[21:22]", "null:vlan.id", "eth.trailer"} <= kinds
    assert scenes["no-pairs"].pairs == 0 and scenes["mixed"].pairing.duplicates_b.size == 2
    assert diff_json(scenes["lossy-offset"])["lost"]["a_to_b"] == [7]
    assert "\\u00e9" in json.dumps(diff_json(scenes["mixed"]), separators=(",", ":"))


def test_command_prints_the_streamed_document(capsys: pytest.CaptureFixture[str]) -> None:
    from wiredoctor.cli.diff import report

    a, b = two_points(handshake(), Hop(rewrite=[clamp(1200), _off_by_one]))
    result = diff_captures(a, b)
    assert report(result, as_json=True) == 1
    printed = capsys.readouterr().out
    assert printed.endswith("}\n") and printed.count("\n") == 1
    doc = json.loads(printed)
    assert doc == diff_json(result)
    assert doc["pairs"][0]["checksum_update"] == {"ip": "correct", "tcp": "off-by-one"}


@settings(max_examples=15, deadline=None)
@given(
    dropped=st.sets(st.integers(min_value=0, max_value=13), max_size=5),
    offset=st.integers(min_value=-10_000_000, max_value=10_000_000),
    chunk=st.integers(min_value=1, max_value=20),
)
def test_streamed_json_after_random_drops(dropped: set[int], offset: int, chunk: int) -> None:
    packets = handshake()
    gone = {packets[k].ip for k in dropped}
    hop = Hop(rewrite=[clamp(1300)], clock_offset_ns=offset, drop=lambda ip, _to: ip in gone)
    result = diff_captures(*two_points(packets, hop))
    out = io.StringIO()
    write_diff_json(result, out, chunk=chunk)
    assert json.loads(out.getvalue()) == diff_json(result)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3000))
def test_the_report_groups_changes_as_unique_over_the_records(seed: int, n: int) -> None:
    """Grouping by the records' bytes gives np.unique's groups, in its order (which breaks
    ties between groups of one size in the report), first rows and counts."""
    rng = np.random.default_rng(seed)
    keys = np.zeros(
        n,
        dtype=[("dir", np.int8), ("mask", np.uint64), ("ttl", np.int64), ("upd", np.uint8, 6),
               ("rtx", np.bool_)],
    )  # fmt: skip
    keys["dir"] = rng.choice([-1, 1], n)
    keys["mask"] = rng.choice(np.array([0, 1, 6, 1 << 40, 2**64 - 1], dtype=np.uint64), n)
    keys["ttl"] = rng.choice([-2, -1, 0, 1, 255], n)
    keys["upd"] = rng.integers(0, 3, (n, 6))
    keys["rtx"] = rng.random(n) < 0.1
    want = np.unique(keys, return_index=True, return_counts=True)
    got = group(keys)
    for mine, theirs in zip(got, want, strict=True):
        assert np.array_equal(mine, theirs)
