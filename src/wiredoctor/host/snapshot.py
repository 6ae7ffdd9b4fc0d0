"""Host snapshots: HostFacts saved as versioned JSON and read back unchanged.

A snapshot lets `check --host SNAPSHOT` reason about a host the capture came from without
running there. Always holds: `load_snapshot(save_snapshot(facts))` equals `facts` apart from
`source`, which becomes `snapshot`; writes are atomic (a temporary file renamed over the
target); a file that is not a snapshot of a known schema raises `InputError`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from wiredoctor.errors import InputError
from wiredoctor.host.events import (
    ChecksumError,
    ConntrackBadChecksum,
    HwCsumFailure,
    KernelEvent,
    KernelLine,
    LengthDrop,
    PartialChecksumUnsupported,
)
from wiredoctor.host.facts import DriverInfo, Feature, HostFacts, IfaceKind, Interface, Unreadable

SNAPSHOT_SCHEMA = 1
SNAPSHOT_KIND = "wiredoctor-host-snapshot"

_EVENT_TYPES: dict[str, type[KernelEvent]] = {
    "conntrack-bad-checksum": ConntrackBadChecksum,
    "partial-checksum-unsupported": PartialChecksumUnsupported,
    "hw-csum-failure": HwCsumFailure,
    "length-drop": LengthDrop,
    "checksum-error": ChecksumError,
}
_EVENT_TAGS: dict[type[Any], str] = {cls: tag for tag, cls in _EVENT_TYPES.items()}


def event_tag(event: KernelEvent) -> str:
    """The stable JSON tag of a kernel event's type (`conntrack-bad-checksum`, …)."""
    return _EVENT_TAGS[type(event)]


def event_to_json(event: KernelEvent) -> dict[str, Any]:
    """A kernel event as a JSON object with its `type` tag."""
    out: dict[str, Any] = {"type": event_tag(event)}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def facts_to_json(facts: HostFacts) -> dict[str, Any]:
    """HostFacts as plain JSON data (the `facts` part of a snapshot and of `host --json`)."""
    return {
        "source": facts.source,
        "hostname": facts.hostname,
        "kernel": facts.kernel,
        "collected_ns": facts.collected_ns,
        "interfaces": [
            {
                "name": i.name,
                "index": i.index,
                "kind": str(i.kind),
                "link_kind": i.link_kind,
                "peer": i.peer,
                "master": i.master,
                "mtu": i.mtu,
                "mac": i.mac,
                "addresses": list(i.addresses),
                "driver": dataclasses.asdict(i.driver) if i.driver is not None else None,
                "driver_source": i.driver_source,
                "features": [dataclasses.asdict(f) for f in i.features],
                "features_source": i.features_source,
            }
            for i in facts.interfaces
        ],
        "counters": dict(sorted(facts.counters.items())),
        "counters_delta": facts.counters_delta,
        "counters_source": facts.counters_source,
        "kernel_log_source": facts.kernel_log_source,
        "kernel_lines": [dataclasses.asdict(x) for x in facts.kernel_lines],
        "kernel_events": [event_to_json(e) for e in facts.kernel_events],
        "unreadable": [dataclasses.asdict(u) for u in facts.unreadable],
    }


def _event(data: dict[str, Any]) -> KernelEvent:
    cls = _EVENT_TYPES[data["type"]]
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names
    }
    return cls(**kwargs)


def facts_from_json(data: dict[str, Any], source: str = "snapshot") -> HostFacts:
    """HostFacts from the data `facts_to_json` made; KeyError/TypeError/ValueError when not."""
    interfaces = tuple(
        Interface(
            name=i["name"],
            index=i["index"],
            kind=IfaceKind(i["kind"]),
            link_kind=i["link_kind"],
            peer=i["peer"],
            master=i["master"],
            mtu=i["mtu"],
            mac=i["mac"],
            addresses=tuple(i["addresses"]),
            driver=DriverInfo(**i["driver"]) if i["driver"] is not None else None,
            driver_source=i["driver_source"],
            features=tuple(Feature(**f) for f in i["features"]),
            features_source=i["features_source"],
        )
        for i in data["interfaces"]
    )
    return HostFacts(
        source=source,
        hostname=data["hostname"],
        kernel=data["kernel"],
        collected_ns=int(data["collected_ns"]),
        interfaces=interfaces,
        counters={str(k): int(v) for k, v in data["counters"].items()},
        counters_delta=bool(data["counters_delta"]),
        counters_source=data["counters_source"],
        kernel_log_source=data["kernel_log_source"],
        kernel_lines=tuple(KernelLine(**x) for x in data["kernel_lines"]),
        kernel_events=tuple(_event(e) for e in data["kernel_events"]),
        unreadable=tuple(Unreadable(**u) for u in data["unreadable"]),
    )


def save_snapshot(facts: HostFacts, path: str | os.PathLike[str]) -> None:
    """Write `facts` to `path` as a versioned JSON snapshot, atomically."""
    target = Path(path)
    document = {"schema": SNAPSHOT_SCHEMA, "kind": SNAPSHOT_KIND, "facts": facts_to_json(facts)}
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1, sort_keys=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_snapshot(path: str | os.PathLike[str]) -> HostFacts:
    """Read a snapshot written by `save_snapshot`; InputError when it is not one."""
    name = os.fspath(path)
    try:
        document = json.loads(Path(name).read_text(encoding="utf-8"))
    except OSError as problem:
        raise InputError(
            name, f"a readable host snapshot ({problem.strerror or problem})"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as problem:
        offset = getattr(problem, "pos", None)
        raise InputError(name, "a wiredoctor host snapshot (JSON)", offset) from None
    if not isinstance(document, dict) or document.get("kind") != SNAPSHOT_KIND:
        raise InputError(name, f"a JSON document with kind {SNAPSHOT_KIND!r}")
    if document.get("schema") != SNAPSHOT_SCHEMA:
        raise InputError(
            name, f"host snapshot schema {SNAPSHOT_SCHEMA}, found {document.get('schema')!r}"
        )
    try:
        return facts_from_json(document["facts"])
    except (KeyError, TypeError, ValueError) as problem:
        raise InputError(name, f"a complete host snapshot (bad or missing {problem})") from None
