"""Reading the live host: links through rtnetlink, offloads and drivers through ethtool,
counters from /proc, and the kernel log from whichever source is readable.

Always holds: wiredoctor only reads; what cannot be read is listed in `HostFacts.unreadable`
with the reason and the command that would read it; every subprocess is bounded in time and
the kernel log in size.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from wiredoctor.host.counters import parse_nstat, parse_proc_snmp
from wiredoctor.host.ethtool_live import (
    ethtool_command_driver,
    ethtool_command_features,
    ioctl_driver,
    ioctl_features,
    open_netlink_features,
)
from wiredoctor.host.facts import DriverInfo, Feature, HostFacts, IfaceKind, Interface, Unreadable
from wiredoctor.host.kernlog import parse_kernel_log

_ARPHRD_LOOPBACK = 772
_IFF_TUN = 0x0001
_IFF_TAP = 0x0002
_KIND_BY_LINK_KIND: dict[str, IfaceKind] = {
    "veth": IfaceKind.VETH,
    "bridge": IfaceKind.BRIDGE,
    "vlan": IfaceKind.VLAN,
    "vxlan": IfaceKind.VXLAN,
    "geneve": IfaceKind.GENEVE,
    "tun": IfaceKind.TUN,
}
_KERNEL_LOG_LINES = 20000
_TIMEOUT = 10.0
_SYS_NET = Path("/sys/class/net")


def _kind(name: str, link_kind: str, ifi_type: int) -> IfaceKind:
    if ifi_type == _ARPHRD_LOOPBACK:
        return IfaceKind.LOOPBACK
    if link_kind == "tun" or (_SYS_NET / name / "tun_flags").exists():
        try:
            flags = int((_SYS_NET / name / "tun_flags").read_text().strip(), 16)
        except (OSError, ValueError):
            return IfaceKind.TUN
        return IfaceKind.TAP if flags & _IFF_TAP else IfaceKind.TUN
    if link_kind in _KIND_BY_LINK_KIND:
        return _KIND_BY_LINK_KIND[link_kind]
    if not link_kind and (_SYS_NET / name / "device").exists():
        return IfaceKind.PHYSICAL
    return IfaceKind.OTHER


def _links(unreadable: list[Unreadable]) -> list[dict[str, Any]]:
    try:
        with IPRoute() as ipr:
            links = list(ipr.get_links())
            addrs = list(ipr.get_addr())
    except (NetlinkError, OSError) as problem:
        unreadable.append(
            Unreadable(what="interfaces", why=f"rtnetlink: {problem}", command="ip -d addr show")
        )
        return []
    by_index = {int(link["index"]): link.get_attr("IFLA_IFNAME") for link in links}
    addresses: dict[int, list[str]] = {}
    for addr in addrs:
        value = addr.get_attr("IFA_LOCAL") or addr.get_attr("IFA_ADDRESS")
        if value:
            addresses.setdefault(int(addr["index"]), []).append(str(value))
    out: list[dict[str, Any]] = []
    for link in links:
        name = str(link.get_attr("IFLA_IFNAME"))
        info = link.get_attr("IFLA_LINKINFO")
        link_kind = str(info.get_attr("IFLA_INFO_KIND") or "") if info is not None else ""
        lower = link.get_attr("IFLA_LINK")
        peer = None
        netnsid = link.get_attr("IFLA_LINK_NETNSID")
        if lower is not None and netnsid is not None:
            # The peer lives in another namespace: its ifindex is that namespace's own.
            peer = f"ifindex {lower} (netns id {netnsid})"
        elif lower is not None and int(lower) not in (0, int(link["index"])):
            peer = by_index.get(int(lower), f"ifindex {lower}")
        master = link.get_attr("IFLA_MASTER")
        out.append(
            {
                "name": name,
                "index": int(link["index"]),
                "kind": _kind(name, link_kind, int(link["ifi_type"])),
                "link_kind": link_kind,
                "peer": peer,
                "master": by_index.get(int(master)) if master else None,
                "mtu": link.get_attr("IFLA_MTU"),
                "mac": link.get_attr("IFLA_ADDRESS"),
                "addresses": tuple(addresses.get(int(link["index"]), [])),
            }
        )
    return out


def _features(
    names: list[str], unreadable: list[Unreadable]
) -> dict[str, tuple[tuple[Feature, ...], str]]:
    out: dict[str, tuple[tuple[Feature, ...], str]] = {}
    netlink = open_netlink_features()
    try:
        for name in names:
            feats = netlink.features(name) if netlink is not None else None
            source = "netlink"
            if feats is None:
                feats, source = ioctl_features(name), "ioctl"
            if feats is None:
                feats, source = ethtool_command_features(name), "ethtool -k"
            if feats is None:
                unreadable.append(
                    Unreadable(
                        what=f"offload features of {name}",
                        why="ethtool netlink, ioctl and the ethtool command all failed",
                        command=f"ethtool -k {name}",
                    )
                )
                continue
            out[name] = (feats, source)
    finally:
        if netlink is not None:
            netlink.__exit__(None, None, None)
    return out


def _driver(name: str) -> tuple[DriverInfo | None, str]:
    info = ioctl_driver(name)
    if info is not None:
        return info, "ioctl"
    info = ethtool_command_driver(name)
    return info, "ethtool -i" if info is not None else ""


def _counters(unreadable: list[Unreadable]) -> tuple[dict[str, int], str]:
    counters: dict[str, int] = {}
    sources: list[str] = []
    for path, parser in (
        ("/proc/net/snmp", parse_proc_snmp),
        ("/proc/net/netstat", parse_proc_snmp),
        ("/proc/net/snmp6", parse_nstat),
    ):
        try:
            counters.update(parser(Path(path).read_text()))
            sources.append(path)
        except OSError as problem:
            unreadable.append(
                Unreadable(what=f"counters in {path}", why=str(problem), command=f"cat {path}")
            )
    return counters, ", ".join(sources)


def _run(cmd: list[str]) -> tuple[str | None, str]:
    if shutil.which(cmd[0]) is None:
        return None, f"{cmd[0]} not found"
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as problem:
        return None, str(problem)
    if done.returncode != 0:
        return None, (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[0]
    return done.stdout, ""


def read_kernel_log(unreadable: list[Unreadable]) -> tuple[str, str]:
    """The kernel log text and its source: dmesg, then the journal, then /var/log/kern.log."""
    reasons: list[str] = []
    text, why = _run(["dmesg"])
    if text is not None:
        return "\n".join(text.splitlines()[-_KERNEL_LOG_LINES:]), "dmesg"
    reasons.append(f"dmesg: {why}")
    text, why = _run(
        ["journalctl", "-k", "-b", "--no-pager", "-o", "short-iso", "-n", str(_KERNEL_LOG_LINES)]
    )
    if text is not None and text.strip() and not text.startswith("-- No entries --"):
        return text, "journalctl -k"
    reasons.append(f"journalctl -k: {why or 'no entries'}")
    for path in ("/var/log/kern.log", "/var/log/messages"):
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                lines = handle.readlines()[-_KERNEL_LOG_LINES:]
            return "".join(lines), path
        except OSError as problem:
            reasons.append(f"{path}: {problem.strerror or problem}")
    unreadable.append(Unreadable(what="kernel log", why="; ".join(reasons), command="sudo dmesg"))
    return "", ""


def collect_live() -> HostFacts:
    """Everything wiredoctor can read about the host it runs on (in its network namespace)."""
    unreadable: list[Unreadable] = []
    links = _links(unreadable)
    features = _features([link["name"] for link in links], unreadable)
    interfaces: list[Interface] = []
    for link in links:
        feats, feat_source = features.get(link["name"], ((), ""))
        driver, driver_source = _driver(link["name"])
        interfaces.append(
            Interface(
                **link,
                driver=driver,
                features=feats,
                features_source=feat_source,
                driver_source=driver_source,
            )
        )
    counters, counters_source = _counters(unreadable)
    log_text, log_source = read_kernel_log(unreadable)
    log = parse_kernel_log(log_text)
    if os.geteuid() != 0 and not log_source:
        unreadable.append(
            Unreadable(
                what="kernel log",
                why="not running as root (kernel.dmesg_restrict)",
                command="sudo wiredoctor host",
            )
        )
    return HostFacts(
        source="live",
        hostname=socket.gethostname(),
        kernel=os.uname().release,
        collected_ns=time.time_ns(),
        interfaces=tuple(interfaces),
        counters=counters,
        counters_source=counters_source,
        kernel_lines=log.lines,
        kernel_events=log.events,
        kernel_log_source=log_source,
        unreadable=tuple(unreadable),
    )
