"""`wiredoctor host [--json] [--ethtool-k FILE]... [--ethtool-i FILE]... [--kernel-log FILE]...
[--nstat FILE]... [--save SNAPSHOT]`: read host evidence and diagnose what it shows.

Always holds: with no files the live host is read (never changed); with files, only those;
the exit status is 1 when a diagnosis is a warning or an error, else 0.
"""

from __future__ import annotations

import json
import sys
import textwrap
from typing import Any

import click

from wiredoctor import __version__
from wiredoctor.diagnose.diagnosis import Diagnosis
from wiredoctor.diagnose.engine import diagnose, has_problems
from wiredoctor.host.facts import HostFacts, Interface
from wiredoctor.host.snapshot import SNAPSHOT_SCHEMA, facts_to_json, save_snapshot

_SHOWN_FEATURES = (
    "tx-checksumming",
    "rx-checksumming",
    "tcp-segmentation-offload",
    "generic-segmentation-offload",
    "generic-receive-offload",
    "large-receive-offload",
)
_SHORT = {
    "tx-checksumming": "tx",
    "rx-checksumming": "rx",
    "tcp-segmentation-offload": "tso",
    "generic-segmentation-offload": "gso",
    "generic-receive-offload": "gro",
    "large-receive-offload": "lro",
}


def host_document(facts: HostFacts, diagnoses: list[Diagnosis]) -> dict[str, Any]:
    """The `host --json` document: schema, tool, the facts and the diagnoses."""
    return {
        "schema": SNAPSHOT_SCHEMA,
        "tool": {"name": "wiredoctor", "version": __version__},
        "facts": facts_to_json(facts),
        "diagnoses": [d.to_json() for d in diagnoses],
    }


def _wrap(text: str, indent: str = "  ") -> str:
    return textwrap.fill(text, width=96, initial_indent=indent, subsequent_indent=indent + "  ")


def _iface_line(iface: Interface) -> str:
    parts = [f"{iface.name:<14}", f"{iface.kind!s:<9}"]
    if iface.mtu is not None:
        parts.append(f"mtu {iface.mtu}")
    if iface.peer:
        parts.append(f"peer {iface.peer}")
    if iface.master:
        parts.append(f"master {iface.master}")
    if iface.driver is not None:
        parts.append(f"driver {iface.driver.driver} {iface.driver.bus_info}".rstrip())
    feats = []
    for name in _SHOWN_FEATURES:
        feat = iface.feature(name)
        if feat is not None:
            feats.append(f"{_SHORT[name]} {'on' if feat.on else 'off'}{'*' if feat.fixed else ''}")
    if feats:
        parts.append("[" + ", ".join(feats) + "]")
    if iface.addresses:
        parts.append(" ".join(iface.addresses))
    return "  " + "  ".join(parts)


def render_host(facts: HostFacts, diagnoses: list[Diagnosis]) -> str:
    """Human output: the verdict first, then each diagnosis, then the facts."""
    problems = [d for d in diagnoses if d.severity != "info"]
    if problems:
        ids = ", ".join(dict.fromkeys(d.id for d in problems))
        lines = [f"wiredoctor host: {len(problems)} problem(s) found: {ids}"]
    else:
        lines = ["wiredoctor host: nothing wrong found"]
    for d in diagnoses:
        lines += ["", f"[{d.severity}] {d.id} (confidence {d.confidence:.2f}): {d.title}"]
        lines.append(_wrap(d.explanation))
        log_lines = d.facts.get("log_lines")
        if log_lines:
            shown = ", ".join(str(n) for n in log_lines[:12])
            more = f" and {len(log_lines) - 12} more" if len(log_lines) > 12 else ""
            lines.append(f"  evidence: {d.evidence.capture}, lines {shown}{more}")
        for r in d.remedies:
            lines.append(_wrap(f"- {r.description}"))
            if r.command:
                lines.append(f"      $ {r.command}")
    lines += ["", f"Interfaces ({len(facts.interfaces)}; * = fixed)"]
    lines += [_iface_line(i) for i in facts.interfaces] or ["  (none read)"]
    csum = {k: v for k, v in sorted(facts.counters.items()) if k.endswith("InCsumErrors")}
    if facts.counters:
        lines += ["", f"Counters ({facts.counters_source or 'given'}):"]
        lines.append("  " + (", ".join(f"{k} {v}" for k, v in csum.items()) or "no InCsumErrors"))
    if facts.kernel_log_source:
        lines += [
            "",
            f"Kernel log ({facts.kernel_log_source}): {len(facts.kernel_lines)} entries, "
            f"{len(facts.kernel_events)} recognised",
        ]
    if facts.unreadable:
        lines += ["", "Could not read:"]
        for u in facts.unreadable:
            lines.append(f"  {u.what}: {u.why}" + (f"  (try: {u.command})" if u.command else ""))
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option(
    "--ethtool-k", "ethtool_k", multiple=True, metavar="FILE", help="`ethtool -k` output."
)
@click.option(
    "--ethtool-i", "ethtool_i", multiple=True, metavar="FILE", help="`ethtool -i` output."
)
@click.option(
    "--kernel-log", "kernel_log", multiple=True, metavar="FILE", help="dmesg/journal/kern.log."
)
@click.option("--nstat", multiple=True, metavar="FILE", help="nstat, netstat -s or /proc/net/snmp.")
@click.option("--save", metavar="SNAPSHOT", help="Also write what was read as a JSON snapshot.")
def host(
    as_json: bool,
    ethtool_k: tuple[str, ...],
    ethtool_i: tuple[str, ...],
    kernel_log: tuple[str, ...],
    nstat: tuple[str, ...],
    save: str | None,
) -> int:
    """Read host evidence (live, or from saved command output) and diagnose it.

    Without files, reads this host: interfaces, offloads, drivers, counters and the kernel
    log. Exit status: 0 nothing wrong, 1 problems found, 3 unreadable input.
    """
    from wiredoctor.host.collect import collect_live
    from wiredoctor.host.files import facts_from_files

    if ethtool_k or ethtool_i or kernel_log or nstat:
        facts = facts_from_files(
            ethtool_k=ethtool_k, ethtool_i=ethtool_i, kernel_log=kernel_log, nstat=nstat
        )
    else:
        facts = collect_live()
    if save:
        save_snapshot(facts, save)
    diagnoses = diagnose([], [], facts)
    if as_json:
        json.dump(host_document(facts, diagnoses), sys.stdout, separators=(",", ":"))
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_host(facts, diagnoses))
    return 1 if has_problems(diagnoses) else 0
