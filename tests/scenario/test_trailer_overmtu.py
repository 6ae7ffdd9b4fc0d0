"""Seed 003 rebuilt from real traffic: full-size frames captured in a namespace lab get a 2-byte
trailer appended (as a broken USB NIC driver did), short frames get zero padding to 60 bytes.
The trailer and over-MTU findings must name exactly the altered frames, never the padded ones."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from lab.netns import Lab, require_lab
from wiredoctor.capture.open import open_capture
from wiredoctor.capture.record import LinkType
from wiredoctor.capture.write import write_pcap
from wiredoctor.checks.run import CheckOptions, run_checks

pytestmark = [pytest.mark.netns, pytest.mark.slow]


PEER = "10.72.0.2"
TRAILER = b"\x25\x7f"


def _lab_capture(tmp_path: Path) -> Path:
    tag = str(os.getpid() % 10000)
    pcap = tmp_path / "lab.pcap"
    with Lab("tr") as lab:
        a, b = lab.ns("a"), lab.ns("b")
        lab.link(a, f"ta{tag}", "10.72.0.1/24", b, f"tb{tag}", f"{PEER}/24")
        lab.run(a, "ethtool", "-K", f"ta{tag}", "tso", "off", "gso", "off", check=False)
        lab.run(a, "ping", "-c", "1", "-W", "2", PEER, check=False)
        with lab.capture(a, f"ta{tag}", pcap):
            lab.run(a, "ping", "-c", "2", "-i", "0.2", "-s", "1472", PEER, check=False)
            lab.run(a, "ping", "-c", "2", "-i", "0.2", "-s", "10", PEER, check=False)
            lab.tcp_transfer(b, a, PEER, 5202, 20_000, timeout=5)
    return pcap


def test_two_byte_trailer_on_full_size_frames(tmp_path: Path) -> None:
    require_lab("ping", "ethtool")
    from wiredoctor.pipeline import load_capture

    source = _lab_capture(tmp_path)
    altered: set[int] = set()
    padded: set[int] = set()
    records = []
    with open_capture(str(source)) as capture:
        for rec in capture.records():
            data = rec.data
            if rec.wirelen == 1514:
                data += TRAILER
                altered.add(rec.index)
            elif rec.wirelen < 60:
                data += bytes(60 - len(data))
                padded.add(rec.index)
            records.append(dataclasses.replace(rec, data=data, caplen=len(data),
                                               wirelen=len(data)))  # fmt: skip
    assert len(altered) >= 4 and len(padded) >= 4, (len(altered), len(padded))
    rewritten = tmp_path / "trailer.pcap"
    write_pcap(str(rewritten), records, linktype=LinkType.ETHERNET)

    by = {f.symbol: f for f in run_checks(load_capture(str(rewritten)), CheckOptions())}
    trailer = by["ethernet-trailer"]
    assert set(trailer.evidence.frames) == altered
    assert trailer.facts["lengths"] == {"2": len(altered)}
    assert trailer.facts["full_size"] == len(altered)
    if trailer.facts["kinds_sampled"]:
        assert trailer.facts["kinds"] == {"vss-monitoring": len(altered)}
    over = by["over-mtu-frame"]
    assert set(over.evidence.frames) == altered
    assert over.facts["with_trailer"] == len(altered)
    assert over.facts["max_len"] == 1516
    assert "segmentation-offload-frames" not in by
    assert "nonzero-padding" not in by
    assert not padded & set(trailer.evidence.frames)
