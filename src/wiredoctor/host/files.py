"""HostFacts from saved command output: `ethtool -k`, `ethtool -i`, kernel logs, counters.

Always holds: only the files given are read; the interface a file describes is the one its
text names (`Features for X:`, `ethtool -i X`), else the only interface another file named,
else the file's name; a file that cannot be read raises `InputError` naming it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from wiredoctor.errors import InputError
from wiredoctor.host.counters import parse_counters
from wiredoctor.host.ethtool_text import parse_ethtool_i, parse_ethtool_k
from wiredoctor.host.events import KernelEvent, KernelLine
from wiredoctor.host.facts import DriverInfo, Feature, HostFacts, Interface
from wiredoctor.host.kernlog import parse_kernel_log


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as problem:
        raise InputError(path, f"a readable text file ({problem.strerror or problem})") from None


def facts_from_files(
    *,
    ethtool_k: Sequence[str] = (),
    ethtool_i: Sequence[str] = (),
    kernel_log: Sequence[str] = (),
    nstat: Sequence[str] = (),
) -> HostFacts:
    """Host facts made only from the given files (paths as the user named them)."""
    features: dict[str, tuple[tuple[Feature, ...], str]] = {}
    for path in ethtool_k:
        text = _read(path)
        parsed = parse_ethtool_k(text, default_name=Path(path).stem)
        if not parsed:
            raise InputError(path, "`ethtool -k` output (lines such as `tx-checksumming: on`)")
        for name, feats in parsed:
            features[name] = (feats, os.fspath(path))
    drivers: dict[str, tuple[DriverInfo, str]] = {}
    for path in ethtool_i:
        blocks = parse_ethtool_i(_read(path))
        if not blocks:
            raise InputError(path, "`ethtool -i` output (a `driver:` line)")
        for stated, info in blocks:
            if stated is not None:
                target = stated
            elif len(features) == 1:
                target = next(iter(features))
            else:
                target = Path(path).stem
            drivers[target] = (info, os.fspath(path))
    names = list(features) + [n for n in drivers if n not in features]
    interfaces = tuple(
        Interface(
            name=name,
            features=features.get(name, ((), ""))[0],
            features_source=features.get(name, ((), ""))[1],
            driver=drivers[name][0] if name in drivers else None,
            driver_source=drivers[name][1] if name in drivers else "",
        )
        for name in names
    )
    lines: list[KernelLine] = []
    events: list[KernelEvent] = []
    for path in kernel_log:
        log = parse_kernel_log(_read(path))
        lines.extend(log.lines)
        events.extend(log.events)
    counters: dict[str, int] = {}
    for path in nstat:
        parsed_counters = parse_counters(_read(path))
        if not parsed_counters:
            raise InputError(path, "counters as `nstat`, `netstat -s` or /proc/net/snmp print them")
        counters.update(parsed_counters)
    return HostFacts(
        source="files",
        interfaces=interfaces,
        counters=counters,
        counters_source=", ".join(nstat),
        kernel_lines=tuple(lines),
        kernel_events=tuple(events),
        kernel_log_source=", ".join(kernel_log),
    )
