"""`diff --json` shape, the human report, exit statuses, and the command on real files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from diff.scenes import Hop, clamp, handshake, two_points
from diff.tablebuild import ETHERNET, build_tables, ether, ipv4_tcp, write_pcap
from wiredoctor.diff import diff_captures, diff_json
from wiredoctor.report.diff_text import render_diff

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
