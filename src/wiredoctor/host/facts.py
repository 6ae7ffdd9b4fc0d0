"""What wiredoctor knows about a host: interfaces, offload features, drivers, counters, kernel log.

Everything here is plain frozen data, produced either live (`host.collect`) or from saved
command output (`host.ethtool_text`, `host.counters`, `host.kernlog`), and stored by
`host.snapshot`. Always holds: a value that could not be read is absent (None / empty) and
the reason is listed in `HostFacts.unreadable`; nothing is guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from wiredoctor.host.events import KernelEvent, KernelLine


class IfaceKind(StrEnum):
    """What sort of device an interface is (from the netlink link kind or the sysfs device)."""

    VETH = "veth"
    BRIDGE = "bridge"
    VLAN = "vlan"
    VXLAN = "vxlan"
    GENEVE = "geneve"
    TUN = "tun"
    TAP = "tap"
    LOOPBACK = "loopback"
    PHYSICAL = "physical"
    OTHER = "other"


# The `ethtool -k` names that aggregate several kernel feature bits; the aggregate is on
# when any of its children is on and fixed when all of them are fixed.
TX_CHECKSUM_CHILDREN: tuple[str, ...] = (
    "tx-checksum-ipv4",
    "tx-checksum-ip-generic",
    "tx-checksum-ipv6",
    "tx-checksum-fcoe-crc",
    "tx-checksum-sctp",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Feature:
    """One offload feature as `ethtool -k` shows it."""

    name: str
    """Feature name, e.g. `tx-checksumming` or `tx-checksum-ip-generic`."""
    on: bool
    """Whether the feature is active."""
    fixed: bool = False
    """`[fixed]`: the driver does not let it change."""
    requested: bool | None = None
    """`[requested on]`/`[requested off]` when wanted and active differ, else None."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DriverInfo:
    """Driver identity as `ethtool -i` shows it."""

    driver: str
    """Kernel driver name, e.g. `ixgbe`, `veth`."""
    version: str = ""
    """Driver version string."""
    firmware_version: str = ""
    """Firmware version string (empty when the driver has none)."""
    expansion_rom_version: str = ""
    """Option ROM version (usually empty)."""
    bus_info: str = ""
    """Bus address, e.g. PCI `0000:0b:00.1` (empty for virtual devices)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Interface:
    """One network interface with what could be read about it."""

    name: str
    """Interface name (`eth0`, `veth1`)."""
    index: int | None = None
    """ifindex, None when read from text that does not say it."""
    kind: IfaceKind = IfaceKind.OTHER
    """Device sort."""
    link_kind: str = ""
    """The raw netlink IFLA_INFO_KIND (`veth`, `bridge`, `vxlan`, …), empty when none."""
    peer: str | None = None
    """veth peer (name, or `ifindex N` in another namespace); a vlan's lower device."""
    master: str | None = None
    """The bridge or bond this interface is enslaved to."""
    mtu: int | None = None
    """Link MTU in bytes."""
    mac: str | None = None
    """Link-layer address."""
    addresses: tuple[str, ...] = ()
    """IP addresses configured on it (without prefix length)."""
    driver: DriverInfo | None = None
    """Driver identity, None when not read."""
    features: tuple[Feature, ...] = ()
    """Offload features in `ethtool -k` order (aggregates and their children)."""
    features_source: str = ""
    """Where the features came from: `netlink`, `ioctl`, `ethtool -k`, or a file name."""
    driver_source: str = ""
    """Where the driver info came from: `ioctl`, `ethtool -i`, `sysfs`, or a file name."""

    def feature(self, name: str) -> Feature | None:
        """The feature called `name`, or None when unknown."""
        for feat in self.features:
            if feat.name == name:
                return feat
        return None

    def is_on(self, name: str) -> bool | None:
        """Whether feature `name` is active; None when it was not read."""
        feat = self.feature(name)
        if feat is not None:
            return feat.on
        if name == "tx-checksumming":
            children = [f.on for f in self.features if f.name in TX_CHECKSUM_CHILDREN]
            return any(children) if children else None
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Unreadable:
    """Something that could not be read, why, and the command that would read it."""

    what: str
    """What was wanted, e.g. `kernel log` or `features of eth0`."""
    why: str
    """The reason, e.g. `dmesg: Operation not permitted`."""
    command: str = ""
    """A command the user can run (as root) to get it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HostFacts:
    """Everything read about one host."""

    source: str
    """`live` for a running host, `files` for saved outputs, `snapshot` when loaded."""
    hostname: str = ""
    """The host name when known."""
    kernel: str = ""
    """Kernel release (`uname -r`) when known."""
    collected_ns: int = 0
    """When the facts were read, ns since the epoch (0 when unknown)."""
    interfaces: tuple[Interface, ...] = ()
    """Interfaces in ifindex order (or file order)."""
    counters: dict[str, int] = field(default_factory=dict)
    """Kernel SNMP counters by nstat name (`TcpInCsumErrors`, `Udp6InCsumErrors`, …)."""
    counters_delta: bool = False
    """True when the counters are increments since an earlier reading (plain `nstat`)."""
    counters_source: str = ""
    """Where the counters came from (`/proc/net/snmp`, a file name, …)."""
    kernel_lines: tuple[KernelLine, ...] = ()
    """Kernel log entries, re-joined when they had been wrapped."""
    kernel_events: tuple[KernelEvent, ...] = ()
    """The kernel log entries wiredoctor recognises, typed."""
    kernel_log_source: str = ""
    """Where the kernel log came from (`dmesg`, `journalctl -k`, a file name)."""
    unreadable: tuple[Unreadable, ...] = ()
    """What could not be read and why."""

    def interface(self, name: str) -> Interface | None:
        """The interface called `name`, or None."""
        for iface in self.interfaces:
            if iface.name == name:
                return iface
        return None

    def interfaces_with_address(self, address: str) -> tuple[Interface, ...]:
        """Interfaces that carry IP `address` (compared in canonical text form)."""
        want = _canonical(address)
        return tuple(i for i in self.interfaces if want in {_canonical(a) for a in i.addresses})

    def counter(self, name: str) -> int | None:
        """Counter `name` (nstat spelling), or None when not read."""
        return self.counters.get(name)


def _canonical(address: str) -> str:
    import ipaddress

    text = address.split("/", 1)[0].split("%", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text
