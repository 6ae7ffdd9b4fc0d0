"""`wiredoctor host` and `wiredoctor explain`, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wiredoctor.cli.explain import explain
from wiredoctor.cli.host import host
from wiredoctor.diagnose.catalogue import DIAGNOSIS_IDS
from wiredoctor.host.snapshot import load_snapshot

FIXTURES = Path(__file__).resolve().parents[1] / "host" / "fixtures"
SEEDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "seeds"


def _seed(prefix: str) -> str:
    found = sorted(SEEDS.glob(f"{prefix}_*.txt")) if SEEDS.is_dir() else []
    if not found:
        pytest.skip(f"shared seed {prefix} not present beside the repository")
    return str(found[0])


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = host.main(args=args, prog_name="wiredoctor host", standalone_mode=False)
    out, err = capsys.readouterr()
    return int(status), out, err


def test_host_seed_001_driver_partial_checksum(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(["--kernel-log", _seed("001"), "--json"], capsys)
    doc = json.loads(out)
    assert status == 1 and doc["schema"] == 1
    [d] = doc["diagnoses"]
    assert d["id"] == "driver-partial-checksum-unsupported" and d["severity"] == "warning"
    assert d["evidence"]["driver"] == "ixgbe" and d["evidence"]["bus_info"] == "0000:0b:00.1"
    assert d["evidence"]["l4_proto"] == 0x2B and d["evidence"]["l4_name"] == "IPv6 routing header"
    assert d["evidence"]["log_lines"] == [23, 24, 25] and d["evidence"]["frames"] == []
    assert "ixgbe" in d["explanation"] and "0000:0b:00.1" in d["explanation"]
    assert "routing header" in d["explanation"]
    assert {"description", "command"} <= set(d["remedies"][0])
    assert len(doc["facts"]["kernel_events"]) == 3


def test_host_seed_004_conntrack(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(["--kernel-log", _seed("004"), "--json"], capsys)
    assert status == 1
    [d] = json.loads(out)["diagnoses"]
    assert d["id"] == "conntrack-bad-checksum-drop"
    [flow] = d["evidence"]["flows"]
    assert (flow["src"], flow["dst"], flow["sport"], flow["dport"]) == (
        "10.80.0.112",
        "172.18.128.9",
        80,
        42319,
    )
    assert (flow["seq"], flow["mss"]) == (1243683600, 1405)


def test_host_files_human_output_and_save(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = tmp_path / "host.json"
    args = [
        "--ethtool-k",
        str(FIXTURES / "ethtool-k-veth0.txt"),
        "--ethtool-k",
        str(FIXTURES / "ethtool-k-br0.txt"),
        "--ethtool-i",
        str(FIXTURES / "ethtool-i-br0.txt"),
        "--nstat",
        str(FIXTURES / "nstat-csum-errors.txt"),
        "--save",
        str(snapshot),
    ]
    status, out, _ = _run(args, capsys)
    assert status == 1
    assert out.splitlines()[0] == "wiredoctor host: 1 problem(s) found: rx-checksum-errors"
    assert "veth0" in out and "br0" in out and "tx off" in out
    facts = load_snapshot(snapshot)
    assert [i.name for i in facts.interfaces] == ["veth0", "br0", "ethtool-i-br0"]
    assert facts.counter("TcpInCsumErrors") == 17


def test_host_clean_files_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(["--ethtool-k", str(FIXTURES / "ethtool-k-lo.txt")], capsys)
    assert status == 0 and out.startswith("wiredoctor host: nothing wrong found")


def test_host_live_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(["--json"], capsys)
    doc = json.loads(out)
    assert status in (0, 1)
    assert status == (1 if any(d["severity"] != "info" for d in doc["diagnoses"]) else 0)
    assert doc["facts"]["source"] == "live"
    assert any(i["name"] == "lo" and i["kind"] == "loopback" for i in doc["facts"]["interfaces"])


def test_explain_every_id_and_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    for diagnosis_id in DIAGNOSIS_IDS:
        assert explain.main(args=[diagnosis_id], standalone_mode=False) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"{diagnosis_id}: ")
        assert "Mechanism" in out and "Remedies" in out and "References" in out
    assert explain.main(args=["no-such-id"], standalone_mode=False) == 2
    captured = capsys.readouterr()
    assert "unknown diagnosis id 'no-such-id'" in captured.err
    assert all(i in captured.err for i in DIAGNOSIS_IDS)
    assert explain.main(args=[], standalone_mode=False) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(DIAGNOSIS_IDS)
