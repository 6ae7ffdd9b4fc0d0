"""Reading offload features and driver identity from the running kernel.

Features: the ethtool generic-netlink family (ETHTOOL_MSG_FEATURES_GET, kernel
Documentation/networking/ethtool-netlink.rst) first, then the ETHTOOL_GFEATURES ioctl through
pyroute2, then running `ethtool -k`. Driver: the ETHTOOL_GDRVINFO ioctl, then `ethtool -i`.
Each reader returns None when its interface is unavailable so the caller can fall back and
say which source it used.

Always holds: nothing here changes the host; every subprocess is bounded by a timeout.
"""

from __future__ import annotations

import ctypes
import fcntl
import shutil
import socket
import struct
import subprocess
from typing import Any

from pyroute2.netlink import NLM_F_REQUEST, genlmsg
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.generic import GenericNetlinkSocket
from pyroute2.netlink.generic.ethtool import ethtoolbitset, ethtoolheader

from wiredoctor.host.ethtool_text import ethtool_view, parse_ethtool_i, parse_ethtool_k
from wiredoctor.host.facts import DriverInfo, Feature

_ETHTOOL_MSG_FEATURES_GET = 11
_ETHTOOL_GENL_VERSION = 1
_SIOCETHTOOL = 0x8946
_ETHTOOL_GDRVINFO = 0x00000003
# struct ethtool_drvinfo: cmd, driver[32], version[32], fw_version[32], bus_info[32],
# erom_version[32], reserved2[12], five u32 counts (include/uapi/linux/ethtool.h).
_DRVINFO = struct.Struct("=I32s32s32s32s32s12s5I")
_SUBPROCESS_TIMEOUT = 10.0


class _features_msg(genlmsg):  # type: ignore[misc]
    """ETHTOOL_MSG_FEATURES_GET request / reply (attribute order is the kernel's enum)."""

    nla_map = (
        ("ETHTOOL_A_FEATURES_UNSPEC", "none"),
        ("ETHTOOL_A_FEATURES_HEADER", "ethtoolheader"),
        ("ETHTOOL_A_FEATURES_HW", "ethtoolbitset"),
        ("ETHTOOL_A_FEATURES_WANTED", "ethtoolbitset"),
        ("ETHTOOL_A_FEATURES_ACTIVE", "ethtoolbitset"),
        ("ETHTOOL_A_FEATURES_NOCHANGE", "ethtoolbitset"),
    )
    ethtoolheader = ethtoolheader
    ethtoolbitset = ethtoolbitset


def _bits(bitset: Any) -> tuple[list[str], set[str]]:
    """All bit names a verbose bitset lists, and those that are set.

    With ETHTOOL_A_BITSET_NOMASK the set is a list: every listed bit is set. Without it,
    each bit carries ETHTOOL_A_BITSET_BIT_VALUE when set.
    """
    if bitset is None:
        return [], set()
    is_list = bool(bitset.get_attr("ETHTOOL_A_BITSET_NOMASK"))
    container = bitset.get_attr("ETHTOOL_A_BITSET_BITS")
    names: list[str] = []
    on: set[str] = set()
    if container is None:
        return names, on
    for bit in container.get_attrs("ETHTOOL_A_BITSET_BITS_BIT"):
        name = bit.get_attr("ETHTOOL_A_BITSET_BIT_NAME") or ""
        names.append(name)
        if name and (is_list or bit.get_attr("ETHTOOL_A_BITSET_BIT_VALUE")):
            on.add(name)
    return names, on


class NetlinkFeatures:
    """An open ethtool generic-netlink socket for reading features; use as a context manager."""

    def __init__(self) -> None:
        self._sock: Any = GenericNetlinkSocket()
        self._sock.bind("ethtool", _features_msg)

    def __enter__(self) -> NetlinkFeatures:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._sock.close()

    def features(self, ifname: str) -> tuple[Feature, ...] | None:
        """`ethtool -k`-shaped features of `ifname`, None when the kernel refuses."""
        msg = _features_msg()
        msg["cmd"] = _ETHTOOL_MSG_FEATURES_GET
        msg["version"] = _ETHTOOL_GENL_VERSION
        msg["attrs"].append(
            ("ETHTOOL_A_FEATURES_HEADER", {"attrs": [["ETHTOOL_A_HEADER_DEV_NAME", ifname]]})
        )
        try:
            replies = list(
                self._sock.nlm_request(msg, msg_type=self._sock.prid, msg_flags=NLM_F_REQUEST)
            )
        except (NetlinkError, OSError):
            return None
        if not replies:
            return None
        reply = replies[0]
        names, hw = _bits(reply.get_attr("ETHTOOL_A_FEATURES_HW"))
        _, wanted = _bits(reply.get_attr("ETHTOOL_A_FEATURES_WANTED"))
        _, active = _bits(reply.get_attr("ETHTOOL_A_FEATURES_ACTIVE"))
        _, nochange = _bits(reply.get_attr("ETHTOOL_A_FEATURES_NOCHANGE"))
        return ethtool_view(names, hw, wanted, active, nochange)


def open_netlink_features() -> NetlinkFeatures | None:
    """The netlink reader, or None when the kernel has no ethtool netlink family (< 5.6)."""
    try:
        return NetlinkFeatures()
    except (NetlinkError, OSError):
        return None


def ioctl_features(ifname: str) -> tuple[Feature, ...] | None:
    """Features through the ETHTOOL_GFEATURES ioctl (pyroute2), None when it fails."""
    from pyroute2.ethtool import Ethtool

    try:
        with Ethtool() as tool:
            feats = tool.get_features(ifname).features
    except (OSError, NetlinkError, KeyError, ValueError):
        return None
    names = [name for name in feats]
    # `available` is the changeable (hw) mask; ioctl has no separate `wanted` here.
    active = {n for n, f in feats.items() if f.enable}
    hw = {n for n, f in feats.items() if f.available}
    return ethtool_view(names, hw, active, active, set())


def ethtool_command_features(ifname: str) -> tuple[Feature, ...] | None:
    """Features by running `ethtool -k IFNAME`, None when ethtool is missing or fails."""
    out = _run(["ethtool", "-k", ifname])
    if out is None:
        return None
    parsed = parse_ethtool_k(out, default_name=ifname)
    return parsed[0][1] if parsed else None


def ioctl_driver(ifname: str) -> DriverInfo | None:
    """Driver identity through the ETHTOOL_GDRVINFO ioctl, None when it fails."""
    data = ctypes.create_string_buffer(_DRVINFO.pack(_ETHTOOL_GDRVINFO, *([b""] * 6), *([0] * 5)))
    ifreq = struct.pack("16sP", ifname.encode()[:15], ctypes.addressof(data)).ljust(40, b"\0")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            fcntl.ioctl(sock.fileno(), _SIOCETHTOOL, ifreq)
    except OSError:
        return None
    fields = _DRVINFO.unpack(data.raw[: _DRVINFO.size])

    def text(raw: bytes) -> str:
        return raw.split(b"\0", 1)[0].decode("ascii", "replace")

    return DriverInfo(
        driver=text(fields[1]),
        version=text(fields[2]),
        firmware_version=text(fields[3]),
        bus_info=text(fields[4]),
        expansion_rom_version=text(fields[5]),
    )


def ethtool_command_driver(ifname: str) -> DriverInfo | None:
    """Driver identity by running `ethtool -i IFNAME`."""
    out = _run(["ethtool", "-i", ifname])
    if out is None:
        return None
    parsed = parse_ethtool_i(out)
    return parsed[0][1] if parsed else None


def _run(cmd: list[str]) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=_SUBPROCESS_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None
