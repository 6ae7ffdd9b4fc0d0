"""ethtool -k / -i and counter parsers on recorded and hand-written fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from wiredoctor.host.counters import parse_counters, parse_netstat_s, parse_nstat, parse_proc_snmp
from wiredoctor.host.ethtool_text import ethtool_view, parse_ethtool_i, parse_ethtool_k
from wiredoctor.host.facts import Feature

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEEDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "seeds"


def _text(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_ethtool_k_recorded_veth_with_tx_off() -> None:
    [(name, feats)] = parse_ethtool_k(_text("ethtool-k-veth0.txt"))
    assert name == "veth0"
    by = {f.name: f for f in feats}
    assert by["tx-checksumming"] == Feature(name="tx-checksumming", on=False)
    assert by["tx-checksum-ipv4"] == Feature(name="tx-checksum-ipv4", on=False, fixed=True)
    assert by["tx-tcp-segmentation"].requested is True and not by["tx-tcp-segmentation"].on
    assert by["rx-checksumming"].on and by["large-receive-offload"].fixed


@pytest.mark.parametrize(
    ("file", "name"),
    [
        ("ethtool-k-veth1.txt", "veth1"),
        ("ethtool-k-br0.txt", "br0"),
        ("ethtool-k-vx0.txt", "vx0"),
        ("ethtool-k-lo.txt", "lo"),
    ],
)
def test_ethtool_k_recorded_interfaces_have_tx_checksumming(file: str, name: str) -> None:
    [(parsed_name, feats)] = parse_ethtool_k(_text(file))
    assert parsed_name == name
    tx = {f.name: f for f in feats}["tx-checksumming"]
    assert tx.on is True


def test_ethtool_k_old_style_spellings_and_default_name() -> None:
    [(name, feats)] = parse_ethtool_k(_text("ethtool-k-old-style.txt"))
    assert name == "eth1"
    assert [f.name for f in feats][:4] == [
        "rx-checksumming",
        "tx-checksumming",
        "scatter-gather",
        "tcp-segmentation-offload",
    ]
    assert {f.name: f.on for f in feats}["udp-fragmentation-offload"] is False
    [(unnamed, _)] = parse_ethtool_k("> tx-checksumming: on\n", default_name="guess")
    assert unnamed == "guess"


def test_ethtool_k_concatenated_outputs() -> None:
    text = _text("ethtool-k-veth0.txt") + _text("ethtool-k-br0.txt")
    assert [name for name, _ in parse_ethtool_k(text)] == ["veth0", "br0"]


def test_ethtool_i_recorded_and_flattened_seed() -> None:
    [(name, info)] = parse_ethtool_i(_text("ethtool-i-veth0.txt"))
    assert name is None
    assert (info.driver, info.version, info.bus_info) == ("veth", "1.0", "")
    [(_, bridge)] = parse_ethtool_i(_text("ethtool-i-br0.txt"))
    assert bridge.driver == "bridge"
    seeds = sorted(SEEDS.glob("002_*.txt")) if SEEDS.is_dir() else []
    if not seeds:
        pytest.skip("shared seed 002 not present beside the repository")
    parsed = parse_ethtool_i(seeds[0].read_text())
    assert [(n, i.driver, i.version, i.firmware_version, i.bus_info) for n, i in parsed] == [
        ("enp3s0f0", "txgbe", "1.1.12", "0x00020004", "0000:03:00.0"),
        ("enp6s0f0", "i40e", "2.3.2-k", "6.01 0x800035cf 1.1747.0", "0000:06:00.0"),
    ]


def test_ethtool_view_matches_ethtool_rules() -> None:
    names = ["tx-checksum-ipv4", "tx-checksum-ip-generic", "rx-gro", "rx-lro", "highdma"]
    view = ethtool_view(
        names,
        hw={"tx-checksum-ip-generic", "rx-gro"},
        wanted={"tx-checksum-ip-generic", "rx-gro"},
        active={"tx-checksum-ip-generic", "highdma"},
        nochange=set(),
    )
    by = {f.name: f for f in view}
    assert by["tx-checksumming"] == Feature(name="tx-checksumming", on=True, fixed=False)
    assert by["tx-checksum-ipv4"].fixed and not by["tx-checksum-ipv4"].on
    assert by["generic-receive-offload"] == Feature(name="generic-receive-offload", on=False)
    assert "rx-gro" not in by  # printed only under its aggregate name
    assert by["large-receive-offload"].fixed
    assert by["highdma"] == Feature(name="highdma", on=True, fixed=True)


def test_counters_nstat_netstat_and_proc() -> None:
    nstat = parse_counters(_text("nstat-csum-errors.txt"))
    assert nstat["TcpInCsumErrors"] == 17 and nstat["Udp6InCsumErrors"] == 2
    assert nstat == parse_nstat(_text("nstat-csum-errors.txt"))
    netstat = parse_counters(_text("netstat-s-csum.txt"))
    assert netstat == parse_netstat_s(_text("netstat-s-csum.txt"))
    assert (netstat["TcpInCsumErrors"], netstat["TcpInErrs"], netstat["IpExtInCsumErrors"]) == (
        17,
        17,
        0,
    )
    assert netstat["TcpRetransSegs"] == 40 and netstat["UdpInErrors"] == 3
    proc = parse_counters(_text("proc-net-snmp-host.txt"))
    assert proc == parse_proc_snmp(_text("proc-net-snmp-host.txt"))
    assert {"TcpInCsumErrors", "UdpInCsumErrors", "IcmpInCsumErrors", "IpForwarding"} <= set(proc)
    recorded = parse_counters(_text("nstat-a-host.txt"))
    assert recorded["IpInReceives"] > 0
