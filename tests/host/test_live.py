"""Live collection inside a namespace: netlink features, an ethtool toggle, snapshot round-trip."""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path

import pytest

from lab.netns import Lab, require_lab
from wiredoctor.checks.finding import Evidence, Finding, Severity
from wiredoctor.diagnose.engine import diagnose
from wiredoctor.host.ethtool_text import parse_ethtool_k
from wiredoctor.host.facts import HostFacts, IfaceKind
from wiredoctor.host.snapshot import load_snapshot

_COLLECT = (
    "import sys\n"
    "from wiredoctor.host.collect import collect_live\n"
    "from wiredoctor.host.snapshot import save_snapshot\n"
    "save_snapshot(collect_live(), sys.argv[1])\n"
)


def _collect(lab: Lab, ns: str, path: Path) -> HostFacts:
    lab.run(ns, sys.executable, "-c", _COLLECT, str(path), timeout=60)
    return load_snapshot(path)


@pytest.mark.netns
def test_live_veth_features_toggle_and_engine(tmp_path: Path) -> None:
    require_lab("ethtool")
    if shutil.which("ethtool") is None:
        pytest.skip("needs ethtool")
    with Lab("hl") as lab:
        a, b = lab.ns("a"), lab.ns("b")
        lab.link(a, "wdv0", "10.77.0.1/24", b, "wdv1", "10.77.0.2/24")
        before = _collect(lab, a, tmp_path / "before.json")
        veth = before.interface("wdv0")
        assert veth is not None
        assert (veth.kind, veth.mtu, veth.features_source) == (IfaceKind.VETH, 1500, "netlink")
        assert veth.driver is not None and veth.driver.driver == "veth"
        assert "10.77.0.1" in veth.addresses
        assert veth.peer is not None and "ifindex" in veth.peer  # peer lives in namespace b
        assert veth.is_on("tx-checksumming") is True
        lo = before.interface("lo")
        assert lo is not None and lo.kind == IfaceKind.LOOPBACK
        # The netlink view equals what `ethtool -k` prints for the same device.
        printed = lab.run(a, "ethtool", "-k", "wdv0").stdout
        assert parse_ethtool_k(printed)[0][1] == veth.features

        lab.run(a, "ethtool", "-K", "wdv0", "tx", "off")
        after = _collect(lab, a, tmp_path / "after.json")
        toggled = after.interface("wdv0")
        assert toggled is not None
        assert toggled.is_on("tx-checksumming") is False
        assert toggled.is_on("tx-checksum-ip-generic") is False
        assert dataclasses.replace(after, source="snapshot") == after

    finding = Finding(
        code="WD101",
        symbol="checksum-offload-partial",
        severity=Severity.INFO,
        message="partial checksums",
        evidence=Evidence(capture="a.pcap", frames=(1, 3)),
        facts={
            "count": 2,
            "capture_hosts": ["10.77.0.1"],
            "senders": ["10.77.0.1"],
            "outbound": 2,
            "inbound": 0,
        },
    )
    [with_on] = diagnose([finding], [], before)
    assert with_on.id == "tx-checksum-offload" and with_on.confidence >= 0.9
    assert any(r.command == "ethtool -K wdv0 tx off" for r in with_on.remedies)
    [with_off] = diagnose([finding], [], after)
    assert with_off.confidence < 0.9
