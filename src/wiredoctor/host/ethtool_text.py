"""`ethtool -k` and `ethtool -i` output, as saved or pasted, and the `-k` view of feature bits.

`ethtool -k` has printed three shapes over the years: `Features for X:` with indented child
features and `[fixed]` / `[requested on]` / `[requested off]` markers (ethtool >= 3.0, both
ioctl and netlink back ends), the older `Offload parameters for X:` list of aggregate names,
and very old spellings with spaces (`tcp segmentation offload: on`). `ethtool -i` is a list of
`key: value` lines, sometimes flattened onto one line when pasted.

Always holds: parsers never raise; a line they do not understand is skipped; the interface
name is the one the output states, else the `default_name` the caller gives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from wiredoctor.host.facts import TX_CHECKSUM_CHILDREN, DriverInfo, Feature

# How `ethtool -k` groups kernel feature bits under its older aggregate names (ethtool's
# "off_flag_def" table): the aggregate is printed first, its children indented below it.
LEGACY_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rx-checksumming", ("rx-checksum",)),
    ("tx-checksumming", TX_CHECKSUM_CHILDREN),
    ("scatter-gather", ("tx-scatter-gather", "tx-scatter-gather-fraglist")),
    (
        "tcp-segmentation-offload",
        (
            "tx-tcp-segmentation",
            "tx-tcp-ecn-segmentation",
            "tx-tcp-mangleid-segmentation",
            "tx-tcp6-segmentation",
            "tx-tcp-accecn-segmentation",
        ),
    ),
    ("generic-segmentation-offload", ("tx-generic-segmentation",)),
    ("generic-receive-offload", ("rx-gro",)),
    ("large-receive-offload", ("rx-lro",)),
    ("rx-vlan-offload", ("rx-vlan-hw-parse",)),
    ("tx-vlan-offload", ("tx-vlan-hw-insert",)),
    ("ntuple-filters", ("rx-ntuple-filter",)),
    ("receive-hashing", ("rx-hashing",)),
)
# Groups whose single child is not printed again below the aggregate.
_SILENT_CHILD = {
    "rx-checksumming",
    "generic-segmentation-offload",
    "generic-receive-offload",
    "large-receive-offload",
    "rx-vlan-offload",
    "tx-vlan-offload",
    "ntuple-filters",
    "receive-hashing",
}

_HEADER = re.compile(r"^(?:Features|Offload parameters) for (?P<name>\S+?):?\s*$")
_FEATURE = re.compile(
    r"^(?P<name>[a-z0-9][a-z0-9 _-]*?):\s+(?P<state>on|off)"
    r"(?:\s+\[(?P<mark>fixed|requested on|requested off)\])?\s*$"
)
_QUOTE = re.compile(r"^\s*(?:>\s?)+")
_INFO_KEYS = (
    "driver",
    "version",
    "firmware-version",
    "expansion-rom-version",
    "bus-info",
    "supports-statistics",
    "supports-test",
    "supports-eeprom-access",
    "supports-register-dump",
    "supports-priv-flags",
)
_INFO_KEY = re.compile(r"(?<![\w-])(?P<key>" + "|".join(re.escape(k) for k in _INFO_KEYS) + r"):")
_INFO_CMD = re.compile(r"ethtool\s+(?:-i|--driver)\s+(?P<name>\S+)")


def _feature_from(state: str, mark: str | None, name: str) -> Feature:
    on = state == "on"
    requested = None
    if mark == "requested on":
        requested = True
    elif mark == "requested off":
        requested = False
    return Feature(name=name, on=on, fixed=mark == "fixed", requested=requested)


def parse_ethtool_k(text: str, default_name: str = "") -> list[tuple[str, tuple[Feature, ...]]]:
    """Each interface's features in an `ethtool -k` output (several outputs may be concatenated)."""
    out: list[tuple[str, list[Feature]]] = []
    current: list[Feature] | None = None
    for raw in text.splitlines():
        line = _QUOTE.sub("", raw).strip()
        header = _HEADER.match(line)
        if header is not None:
            current = []
            out.append((header.group("name"), current))
            continue
        m = _FEATURE.match(line)
        if m is None:
            continue
        if current is None:
            current = []
            out.append((default_name, current))
        name = re.sub(r" +", "-", m.group("name").strip())
        current.append(_feature_from(m.group("state"), m.group("mark"), name))
    return [(name, tuple(feats)) for name, feats in out if feats]


def parse_ethtool_i(text: str) -> list[tuple[str | None, DriverInfo]]:
    """Each `ethtool -i` block in `text`: (interface name when stated, driver info)."""
    flat = " ".join(_QUOTE.sub("", raw).strip() for raw in text.splitlines())
    keys = list(_INFO_KEY.finditer(flat))
    blocks: list[tuple[str | None, dict[str, str]]] = []
    for i, m in enumerate(keys):
        end = keys[i + 1].start() if i + 1 < len(keys) else len(flat)
        value = flat[m.end() : end].strip()
        key = m.group("key")
        if key == "driver":
            before = flat[keys[i - 1].end() if i else 0 : m.start()]
            names = _INFO_CMD.findall(before)
            blocks.append((names[-1] if names else None, {}))
        if not blocks:
            continue
        if key.startswith("supports-") or key == "driver":
            # One-word values; what follows the last key may be unrelated pasted text.
            value = value.split()[0] if value.split() else ""
        blocks[-1][1][key] = value
    return [
        (
            name,
            DriverInfo(
                driver=values.get("driver", ""),
                version=values.get("version", ""),
                firmware_version=values.get("firmware-version", ""),
                expansion_rom_version=values.get("expansion-rom-version", ""),
                bus_info=values.get("bus-info", ""),
            ),
        )
        for name, values in blocks
        if values.get("driver")
    ]


def ethtool_view(
    names: Iterable[str],
    hw: set[str],
    wanted: set[str],
    active: set[str],
    nochange: set[str],
) -> tuple[Feature, ...]:
    """The features as `ethtool -k` prints them, from the kernel's four feature bitsets.

    `hw` are the features the user may change, `wanted` those requested, `active` those on,
    `nochange` those the kernel never lets change (ethtool netlink FEATURES_GET, kernel
    Documentation/networking/ethtool-netlink.rst). A feature is `[fixed]` when it is not
    changeable; `[requested …]` when wanted and active differ.
    """
    order = [n for n in names if n]

    def one(name: str) -> Feature:
        fixed = name not in hw or name in nochange
        on = name in active
        requested = None if fixed or on == (name in wanted) else name in wanted
        return Feature(name=name, on=on, fixed=fixed, requested=requested)

    singles = {n: one(n) for n in order}
    out: list[Feature] = []
    grouped: set[str] = set()
    for group, children in LEGACY_GROUPS:
        present = [singles[c] for c in children if c in singles]
        grouped.update(children)
        if not present:
            continue
        out.append(
            Feature(
                name=group,
                on=any(f.on for f in present),
                fixed=all(f.fixed for f in present),
            )
        )
        if group not in _SILENT_CHILD:
            out.extend(present)
    out.extend(singles[n] for n in order if n not in grouped)
    return tuple(out)


def features_by_name(features: Iterable[Feature]) -> Mapping[str, Feature]:
    """Features keyed by name (the last one wins when a name repeats)."""
    return {f.name: f for f in features}
