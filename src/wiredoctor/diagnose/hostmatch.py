"""Connecting findings to the host: which interface carries an address, has an offload on,
or belongs to a driver; and the remedy commands that name it.

Always holds: without host facts every function here answers "unknown" (None / empty) and the
remedies use the placeholder `<iface>`; nothing here runs a command; the host modules are
loaded only once there are host facts (a capture-only `check` never needs them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wiredoctor.host.events import (
        ChecksumError,
        ConntrackBadChecksum,
        HwCsumFailure,
        LengthDrop,
        PartialChecksumUnsupported,
    )
    from wiredoctor.host.facts import HostFacts, Interface

PLACEHOLDER = "<iface>"


def interfaces_for(host: HostFacts | None, addresses: Iterable[str]) -> list[Interface]:
    """Host interfaces that carry any of `addresses`, without repeats."""
    if host is None:
        return []
    out: list[Interface] = []
    for addr in addresses:
        for iface in host.interfaces_with_address(addr):
            if iface not in out:
                out.append(iface)
    return out


def with_feature_on(interfaces: Iterable[Interface], feature: str) -> list[Interface]:
    """The interfaces on which `feature` is active."""
    return [i for i in interfaces if i.is_on(feature)]


def by_bus(host: HostFacts | None, bus_info: str | None) -> Interface | None:
    """The interface whose driver reports bus address `bus_info`."""
    if host is None or not bus_info:
        return None
    for iface in host.interfaces:
        if iface.driver is not None and iface.driver.bus_info == bus_info:
            return iface
    return None


def virtual_with_tx_csum(host: HostFacts | None) -> list[Interface]:
    """Virtual ports (veth, tap, tun, bridge) with tx-checksumming on."""
    if host is None:
        return []
    from wiredoctor.host.facts import IfaceKind

    virtual = (IfaceKind.VETH, IfaceKind.TAP, IfaceKind.TUN, IfaceKind.BRIDGE)
    return [i for i in host.interfaces if i.kind in virtual and i.is_on("tx-checksumming")]


def names(interfaces: Iterable[Interface]) -> list[str]:
    """Interface names, or the placeholder when there are none."""
    out = [i.name for i in interfaces]
    return out or [PLACEHOLDER]


def events_of(host: HostFacts | None, kind: str) -> list[Any]:
    """The host's kernel events of one type, named by its class in `host.events` (a module
    loaded only once there are host facts)."""
    if host is None:
        return []
    from wiredoctor.host import events

    cls = getattr(events, kind)
    return [e for e in host.kernel_events if isinstance(e, cls)]


def conntrack_events(host: HostFacts | None) -> list[ConntrackBadChecksum]:
    """netfilter conntrack bad-checksum events."""
    return events_of(host, "ConntrackBadChecksum")


def partial_events(host: HostFacts | None) -> list[PartialChecksumUnsupported]:
    """Driver "partial checksum but …" events."""
    return events_of(host, "PartialChecksumUnsupported")


def hw_csum_events(host: HostFacts | None) -> list[HwCsumFailure]:
    """`hw csum failure` events."""
    return events_of(host, "HwCsumFailure")


def csum_error_events(host: HostFacts | None) -> list[ChecksumError]:
    """Other kernel bad-checksum reports."""
    return events_of(host, "ChecksumError")


def length_events(host: HostFacts | None, kind: str = "over-mtu") -> list[LengthDrop]:
    """Length drops of one kind (`over-mtu` or `short`)."""
    return [e for e in events_of(host, "LengthDrop") if e.kind == kind]


def flow_matches(event: ConntrackBadChecksum, flow: dict[str, object]) -> bool:
    """Whether a conntrack event is about the same 4-tuple as `flow` (either direction)."""
    a = (event.src, event.sport, event.dst, event.dport)
    src, dst = str(flow.get("src")), str(flow.get("dst"))
    sport, dport = flow.get("sport"), flow.get("dport")
    return a in ((src, sport, dst, dport), (dst, dport, src, sport))


def tx_off(iface: str) -> str:
    """The command that stops transmit checksum offload on `iface`."""
    return f"ethtool -K {iface} tx off"
