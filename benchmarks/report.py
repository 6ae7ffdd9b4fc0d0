"""The benchmark runner's tables: markdown made from the results dictionary of one run.

Always holds: every cell comes from the results passed in; a measurement that is missing or
failed shows as "not measured" with the reason, never as a number.
"""

from __future__ import annotations

from typing import Any

WD = "wiredoctor check --json"


def _rate(frames: float, seconds: float) -> str:
    per_s = frames / seconds if seconds > 0 else 0.0
    if per_s >= 1e6:
        return f"{per_s / 1e6:.2f} M"
    return f"{per_s / 1e3:.0f} k"


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _tool_rows(cap: dict[str, Any]) -> list[str]:
    rows = []
    tools = cap["tools"]
    wd = tools.get(WD)
    size = f"{cap['capture']} ({cap['bytes'] / 1e6:.0f} MB, {cap['frames']:,} frames)"
    for name, t in tools.items():
        ratio = f"{t['median'] / wd['median']:.1f}×" if wd else "—"
        mbps = cap["bytes"] / t["median"] / 1e6
        rows.append(
            f"| {size} | {name} | {t['median']:.2f} | {_rate(cap['frames'], t['median'])} | "
            f"{mbps:.0f} | {t['peak_rss_mb']:.0f} | {ratio} |"
        )
        size = ""
    for name in cap["skipped"]:
        why = "failed" if name == "wiredoctor" else "not installed"
        rows.append(f"| {size} | {name} | not measured ({why}) | | | | |")
        size = ""
    return rows


def _targets(results: dict[str, Any]) -> list[str]:
    rows = []
    for cap in results["captures"]:
        tools = cap["tools"]
        wd = tools.get(WD)
        for name, want in (("tshark (checksums on)", 50.0), ("tcpdump -nn -vv", 5.0)):
            other = tools.get(name)
            label = f"`check` vs {name.split()[0]}, {cap['capture']}"
            if wd is None or other is None:
                rows.append(f"| {label} | not measured | ≥ {want:.0f}× faster | — |")
                continue
            ratio = other["median"] / wd["median"]
            rows.append(
                f"| {label} | {ratio:.1f}× | ≥ {want:.0f}× faster | {_met(ratio >= want)} |"
            )
    inproc = results.get("inprocess", {})
    for key, cpus, want in (
        ("inprocess", "cpus1", 0.0),
        ("inprocess", "cpus2", 10e6),
        ("inprocess_nofrag", "cpus1", 0.0),
        ("inprocess_nofrag", "cpus2", 10e6),
    ):
        data = results.get(key, {}).get(cpus, {})
        mix = "the same mix without IPv4 fragments" if key.endswith("nofrag") else "bench mix"
        label = f"checksum verification alone, {mix}, pinned to {cpus[-1]} CPU (in-process)"
        target = "≥ 10 M frames/s" if want else "—"
        if "verify" not in data:
            rows.append(f"| {label} | not measured {data.get('error', '')} | {target} | — |")
            continue
        per_s = data["frames"] / data["verify"]
        met = _met(per_s >= want) if want else "—"
        took = f"{per_s / 1e6:.2f} M frames/s ({data['verify']:.2f} s)"
        rows.append(f"| {label} | {took} | {target} | {met} |")
        if "kernel" in data:
            label = (
                f"the verification kernel alone, {mix}, pinned to {cpus[-1]} CPU (batches "
                "walked before, outputs allocated once)"
            )
            per_s = data["frames"] / data["kernel"]
            took = f"{per_s / 1e6:.2f} M frames/s ({data['kernel']:.2f} s)"
            rows.append(f"| {label} | {took} | — | — |")
    two = inproc.get("cpus2", {})
    if "full" in two and "verify" in two:
        ratio = two["full"] / two["verify"]
        rows.append(
            f"| full analysis ÷ verification alone (in-process, 2 CPUs) | {ratio:.2f} "
            f"({two['full']:.2f} s / {two['verify']:.2f} s) | ≤ 2 | {_met(ratio <= 2)} |"
        )
    else:
        rows.append("| full analysis ÷ verification alone | not measured | ≤ 2 | — |")
    start = results.get("startup", {})
    if "first_run" in start:
        first, warm = start["first_run"], start["warm_start"]
        said = start.get("first_run_stderr", "").count("compiling")
        capture = start.get("first_run_capture", "?")
        label = (
            f"first-ever run, fresh numba cache and no compiled library, {capture} (read "
            "without the kernels while they build in the background; said so in "
            f"{said} line{'s' if said != 1 else ''})"
        )
        rows.append(f"| {label} | {first:.2f} s | ≤ 5 s | {_met(first <= 5 and said == 1)} |")
        if "build" in start:
            build = start["build"]
            label = "building the compiled kernels from nothing (`python -m wiredoctor.native`)"
            rows.append(f"| {label} | {build:.2f} s | ≤ 5 s | {_met(build <= 5)} |")
            label = "the first run's background build, done after (from that run's start)"
            rows.append(f"| {label} | {start['background_build']:.2f} s | — | — |")
        rows.append(f"| warm start, tiny capture | {warm:.2f} s | ≤ 0.5 s | {_met(warm <= 0.5)} |")
        if "warm_start_small" in start:
            small = start["warm_start_small"]
            label = f"warm start, {start['first_run_capture']} (compiled kernels loaded)"
            ok = not start.get("warm_small_stderr")
            rows.append(f"| {label} | {small:.2f} s | — | {'—' if ok else 'said a line'} |")
    else:
        why = start.get("error", "")
        rows.append(f"| first run / warm start | not measured ({why}) | ≤ 5 s / ≤ 0.5 s | — |")
    big = results.get("big")
    if big and big.get("status") in (0, 1):
        label = (
            f"peak RSS of `check`, {big['bytes'] / 2**30:.2f} GiB capture "
            f"({big['frames']:,} frames, {big['seconds']:.1f} s)"
        )
        rss = big["peak_rss_mb"]
        rows.append(f"| {label} | {rss:.0f} MiB | ≤ 300 MiB | {_met(rss <= 300)} |")
    else:
        reason = "run with --big" if not big else f"exit {big.get('status')}"
        label = "peak RSS of `check` on a ≥ 4 GiB capture"
        rows.append(f"| {label} | not measured ({reason}) | ≤ 300 MiB | — |")
    return rows


def _faults(results: dict[str, Any]) -> list[str]:
    lines = []
    for cap in results["captures"]:
        f = cap["faults"]
        if "error" in f:
            lines.append(f"- {cap['capture']}: fault check not run: {f['error']}")
            continue
        verdict = "exactly the injected faults" if f["ok"] else "**a different set**"
        lines.append(
            f"- {cap['capture']}: wiredoctor reported {verdict}: {f['found']} bad checksums "
            f"found, {f['injected']} injected, {len(f['missed'])} missed, {len(f['extra'])} "
            f"extra (frame, proto, depth, cause compared); `check` summary "
            f"{f['summary_checksums']} vs expected {f['expected_checksums']}."
        )
    big = results.get("big")
    if big and big.get("status") in (0, 1):
        lines.append(
            f"- {big['capture']}: `check` summary counts match the truth: {big['checksums_match']}."
        )
    return lines


def markdown(results: dict[str, Any]) -> str:
    """The tables of one benchmark run."""
    m = results["machine"]
    tshark = m.get("tshark", "tshark: not installed")
    tcpdump = m.get("tcpdump", "tcpdump: not installed")
    out = [
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB RAM; "
        f"Python {m['python']}, numpy {m['numpy']}, numba {m['numba']}; {tshark}; {tcpdump}. "
        f"Medians of {results['reps']} interleaved runs, warm page cache, whole processes.",
        "",
        "| capture | tool | median s | frames/s | MB/s | peak RSS MiB | time ÷ wiredoctor |",
        "|---|---|---|---|---|---|---|",
    ]
    for cap in results["captures"]:
        out += _tool_rows(cap)
    out += ["", "| target | measured | wanted | met |", "|---|---|---|---|"]
    out += _targets(results)
    out += ["", *_faults(results), ""]
    return "\n".join(out)
