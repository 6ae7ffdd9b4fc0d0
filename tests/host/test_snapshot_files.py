"""Snapshots round-trip exactly; facts built from files name the right interfaces."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from wiredoctor.errors import InputError
from wiredoctor.host.events import (
    ConntrackBadChecksum,
    HwCsumFailure,
    LengthDrop,
    PartialChecksumUnsupported,
)
from wiredoctor.host.facts import DriverInfo, Feature, HostFacts, IfaceKind, Interface, Unreadable
from wiredoctor.host.files import facts_from_files
from wiredoctor.host.kernlog import parse_kernel_log
from wiredoctor.host.snapshot import load_snapshot, save_snapshot

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _facts() -> HostFacts:
    log = parse_kernel_log(
        (FIXTURES / "kern-dmesg.txt").read_text() + (FIXTURES / "kern-syslog.txt").read_text()
    )
    return HostFacts(
        source="live",
        hostname="h1",
        kernel="6.1.0",
        collected_ns=1_700_000_000_123_456_789,
        interfaces=(
            Interface(
                name="veth0",
                index=7,
                kind=IfaceKind.VETH,
                link_kind="veth",
                peer="ifindex 6 (netns id 0)",
                mtu=1500,
                mac="02:00:00:00:00:01",
                addresses=("10.0.0.1", "fd00::1"),
                driver=DriverInfo(driver="veth", version="1.0"),
                features=(
                    Feature(name="tx-checksumming", on=True),
                    Feature(name="tx-checksum-ipv4", on=False, fixed=True),
                ),
                features_source="netlink",
                driver_source="ioctl",
            ),
        ),
        counters={"TcpInCsumErrors": 4},
        counters_delta=True,
        counters_source="/proc/net/snmp",
        kernel_lines=log.lines,
        kernel_events=log.events,
        kernel_log_source="dmesg",
        unreadable=(Unreadable(what="kernel log", why="denied", command="sudo dmesg"),),
    )


def test_snapshot_round_trip(tmp_path: Path) -> None:
    facts = _facts()
    assert {type(e) for e in facts.kernel_events} == {
        PartialChecksumUnsupported,
        HwCsumFailure,
        LengthDrop,
        ConntrackBadChecksum,
    }
    path = tmp_path / "host.json"
    save_snapshot(facts, path)
    loaded = load_snapshot(path)
    assert loaded == dataclasses.replace(facts, source="snapshot")
    document = json.loads(path.read_text())
    assert (document["schema"], document["kind"]) == (1, "wiredoctor-host-snapshot")
    assert [p.name for p in tmp_path.iterdir()] == ["host.json"]  # no temporary left behind


def test_snapshot_rejects_other_json_and_garbage(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"schema": 1}')
    with pytest.raises(InputError, match="wiredoctor-host-snapshot"):
        load_snapshot(other)
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    with pytest.raises(InputError) as problem:
        load_snapshot(garbage)
    assert problem.value.offset == 1
    future = tmp_path / "future.json"
    future.write_text('{"schema": 99, "kind": "wiredoctor-host-snapshot", "facts": {}}')
    with pytest.raises(InputError, match="schema 1, found 99"):
        load_snapshot(future)
    with pytest.raises(InputError):
        load_snapshot(tmp_path / "missing.json")


def test_facts_from_files_names_interfaces() -> None:
    facts = facts_from_files(
        ethtool_k=[str(FIXTURES / "ethtool-k-veth0.txt"), str(FIXTURES / "ethtool-k-br0.txt")],
        ethtool_i=[str(FIXTURES / "ethtool-i-veth0.txt")],
        kernel_log=[str(FIXTURES / "kern-dmesg.txt")],
        nstat=[str(FIXTURES / "nstat-csum-errors.txt")],
    )
    assert [i.name for i in facts.interfaces] == ["veth0", "br0", "ethtool-i-veth0"]
    assert (
        facts.interface("veth0") is not None
        and facts.interface("veth0").is_on("tx-checksumming") is False
    )  # type: ignore[union-attr]
    assert facts.counter("TcpInCsumErrors") == 17
    assert len(facts.kernel_events) == 5
    single = facts_from_files(
        ethtool_k=[str(FIXTURES / "ethtool-k-veth0.txt")],
        ethtool_i=[str(FIXTURES / "ethtool-i-veth0.txt")],
    )
    [veth] = single.interfaces
    assert veth.driver is not None and veth.driver.driver == "veth"


def test_facts_from_files_bad_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("nothing here\n")
    with pytest.raises(InputError, match="ethtool -k"):
        facts_from_files(ethtool_k=[str(empty)])
    with pytest.raises(InputError, match="ethtool -i"):
        facts_from_files(ethtool_i=[str(empty)])
    with pytest.raises(InputError, match="nstat"):
        facts_from_files(nstat=[str(empty)])
    with pytest.raises(InputError, match="readable"):
        facts_from_files(kernel_log=[str(tmp_path / "absent.log")])
