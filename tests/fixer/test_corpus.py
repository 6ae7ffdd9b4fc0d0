"""fix_capture on real captures from the shared corpus, judged by tshark and the oracle."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from wiredoctor.checksum.verdict import Status
from wiredoctor.fixer import fix_capture, occurrences
from wiredoctor.fixer.container import load_container

# Offload artefacts (localhost, SLL2 GRO super-frames), tunnels with bad inner checksums,
# a type 0 routing header (final destination), a Wireshark sample with partial sums.
CASES = [
    "zeek__localhost-bad-chksum.pcap",
    "suricata__decode-sll2-02.pcap",
    "zeek__vxlan-inner-tcp-bad-checksum.pcap",
    "zeek__geneve-inner-tcp-bad-checksum.pcap",
    "zeek__ip6-route0-tcp-bad-chksum.pcap",
    "tcpdump__gso-ipv4-vxlan-ipv4.pcap",
]
FILTER = "tcp.checksum.status==0||udp.checksum.status==0||ip.checksum.status==0"
CHECK_ALL = ["-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"]
CHECK_ALL += ["-o", "ip.check_checksum:TRUE"]


def _oracle_bad(corpus: Path, name: str) -> int:
    with open(corpus / "oracle" / "tshark" / f"{name}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = ("ip.checksum.status", "tcp.checksum.status", "udp.checksum.status")
    return sum(1 for row in rows if any("0" in (row[c] or "").split(";") for c in columns))


@pytest.mark.corpus
@pytest.mark.parametrize("name", CASES)
def test_fix_corpus_capture(corpus_dir: Path, tmp_path: Path, name: str) -> None:
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark is not installed")
    src = corpus_dir / "pcaps" / name
    out = tmp_path / name
    report = fix_capture(str(src), str(out))
    bad_frames = _oracle_bad(corpus_dir, name)
    assert bad_frames > 0  # the oracle saw something to fix
    assert len({c.frame for c in report.changes}) >= bad_frames
    assert report.left_bad == 0
    done = subprocess.run(
        [tshark, "-r", str(out), *CHECK_ALL, "-Y", FILTER],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout == ""
    container = load_container(out.read_bytes())
    assert container is not None
    statuses = {
        o.status
        for slot in container.slots
        for o in occurrences(container.frame(slot), slot.linktype)
    }
    assert Status.BAD not in statuses
    # Only checksum fields changed: same size, and every differing byte is a reported field.
    original = src.read_bytes()
    fixed = out.read_bytes()
    assert len(fixed) == len(original)
    source = load_container(original)
    assert source is not None
    allowed = {
        source.slots[c.frame - 1].data_off + c.field_off + k for c in report.changes for k in (0, 1)
    }
    assert {i for i, (a, b) in enumerate(zip(original, fixed, strict=True)) if a != b} <= allowed
