"""The library entry point: several captures at once, order kept, progress reported."""

from __future__ import annotations

import shutil
from pathlib import Path

from wiredoctor.analysis import analyse

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "offload-veth.pcap"


def test_two_captures_keep_their_order_and_index(tmp_path: Path) -> None:
    second = tmp_path / "copy.pcap"
    shutil.copyfile(EXAMPLE, second)
    seen: dict[str, list[tuple[int, int]]] = {}

    def progress(path: str) -> object:
        calls = seen.setdefault(path, [])
        return lambda done, total: calls.append((done, total))

    result = analyse([str(EXAMPLE), str(second)], progress=progress)  # type: ignore[arg-type]
    assert [t.path for t in result.captures] == [str(EXAMPLE), str(second)]
    assert [t.index for t in result.captures] == [0, 1]
    assert {int(x) for x in result.captures[1].frames["capture"]} == {1}
    size = EXAMPLE.stat().st_size
    for path in (str(EXAMPLE), str(second)):
        assert seen[path][-1] == (size, size)
    offload = [d for d in result.diagnoses if d.id == "tx-checksum-offload"]
    assert sorted(d.evidence.capture for d in offload) == sorted([str(EXAMPLE), str(second)])
    assert not result.problems
