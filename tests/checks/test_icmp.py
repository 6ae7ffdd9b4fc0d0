"""ICMP checks over hand-built tables: ping size sweeps, too-big messages, unanswered echoes."""

from __future__ import annotations

from checks.tablekit import by_symbol, echo, make_tables
from wiredoctor.checks.run import CheckOptions, run_checks

CLIENT, SERVER = "10.0.1.2", "10.0.3.2"


def sweep(client: str, server: str, sizes: range, limit: int) -> list[dict]:
    rows = []
    for seq, size in enumerate(sizes, start=1):
        rows.append(echo(client, server, 77, seq, size))
        if size <= limit:
            rows.append(echo(server, client, 77, seq, size, reply=True))
    return rows


def found(rows):
    return by_symbol(run_checks(make_tables(rows), CheckOptions()))


def test_sweep_finds_the_size_threshold() -> None:
    out = found(sweep(CLIENT, SERVER, range(1360, 1381), 1372))
    f = out["ping-size-threshold"]
    assert f.code == "WD210"
    assert f.facts["destination"] == SERVER
    assert (f.facts["largest_answered"], f.facts["smallest_unanswered"]) == (1372, 1373)
    assert f.facts["ip_version"] == 4
    assert f.facts["answered"] == list(range(1360, 1373))
    assert f.facts["unanswered"] == list(range(1373, 1381))
    assert f.facts["consistent"] is True and f.facts["too_big_seen"] is False
    assert len(f.evidence.frames) == 21 + 13
    lost = out["icmp-echo-unanswered"]
    assert lost.facts["count"] == 8 and lost.facts["destinations"] == [SERVER]
    assert lost.facts["sizes"] == list(range(1373, 1381))
    assert "icmp-too-big" not in out


def test_ipv6_sweep_counts_ping_payload_sizes() -> None:
    f = found(sweep("fd00::1", "fd00::2", range(1440, 1460, 4), 1448))["ping-size-threshold"]
    assert (f.facts["largest_answered"], f.facts["smallest_unanswered"]) == (1448, 1452)
    assert f.facts["ip_version"] == 6


def test_all_answered_sweep_is_quiet() -> None:
    out = found(sweep(CLIENT, SERVER, range(56, 1473, 200), 10_000))
    assert out == {}


def test_losses_unrelated_to_size_are_not_a_threshold() -> None:
    rows = sweep(CLIENT, SERVER, range(100, 110), 10_000)
    rows = [r for r in rows if not (r["icmp_type"] == 0 and r["icmp_seq"] == 9)]
    out = found(rows)
    assert "ping-size-threshold" not in out
    assert out["icmp-echo-unanswered"].facts["count"] == 1


def test_frag_needed_and_packet_too_big_are_reported_with_mtu() -> None:
    rows = sweep(CLIENT, SERVER, range(1370, 1376), 1372)
    rows.append({"src": "10.0.2.1", "dst": CLIENT, "ip_proto": 1, "icmp_type": 3,
                 "icmp_code": 4, "icmp_mtu": 1400, "ip_len": 576})  # fmt: skip
    rows.append({"src": "fd00::9", "dst": "fd00::1", "ip_proto": 58, "icmp_type": 2,
                 "icmp_code": 0, "icmp_mtu": 1280, "ip_len": 1280})  # fmt: skip
    out = found(rows)
    f = out["icmp-too-big"]
    assert f.facts["count"] == 2 and f.facts["mtus"] == [1280, 1400]
    assert f.facts["senders"] == ["10.0.2.1", "fd00::9"] or set(f.facts["senders"]) == {
        "10.0.2.1",
        "fd00::9",
    }
    assert out["ping-size-threshold"].facts["too_big_seen"] is True


def test_destination_unreachable_other_codes_are_not_too_big() -> None:
    rows = [{"src": "10.0.2.1", "dst": CLIENT, "ip_proto": 1, "icmp_type": 3, "icmp_code": 1}]
    assert found(rows) == {}
