"""The reference reassembly state the fast path shares with the reference verifier.

`TrackedFragments` is `decode.reassembly.Fragments` that also knows, by
`fast.fragments.key_hash_of`, which keys it holds, so that `fast.fragments.plan_fragments`
can leave those keys to it. While a batch is finished under a compiled plan (`Guard`), it
notices a fragment the plan did not foresee — a frame the reference verifies in full that
brings a fragment of a key the plan took, or a datagram that could push one of the plan's
out of `decode.reassembly.MAX_PENDING` — and the batch is then redone by the reference alone.

Always holds: `add` answers exactly as `Fragments.add`; `pending` mirrors the keys the
reassembler holds, oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wiredoctor.decode.checksums import Occurrence
from wiredoctor.decode.reassembly import MAX_PENDING, FirstFragment, FragmentKey, Fragments
from wiredoctor.distinct import distinct
from wiredoctor.fast.hashes import key_hash_of


@dataclass(frozen=True, slots=True, kw_only=True)
class Guard:
    """What the compiled plan of one batch assumes about the reference state meanwhile."""

    hashes: npt.NDArray[np.uint64]
    """Sorted hashes of the keys the plan took."""
    last: npt.NDArray[np.int64]
    """Per hash, the frame that completes the key's last datagram in the batch."""
    open: int
    """Most datagrams of the plan waiting for fragments at any one time."""


class TrackedFragments(Fragments):
    """The reference reassembly state, plus which keys it holds, by `key_hash`."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: dict[FragmentKey, int] = {}
        """The keys the reassembler holds, oldest first, as it keeps them (the oldest is
        forgotten beyond `MAX_PENDING`), with their hashes."""
        self.firsts: dict[FragmentKey, int] = {}
        """The keys whose first fragment waits for its datagram, with their hashes."""
        self.guard: Guard | None = None
        """The plan of the batch being finished, while the reference adds its fragments."""
        self.broken = False
        """A fragment came that the guarded plan did not foresee: redo the batch."""

    def held(self) -> npt.NDArray[np.uint64]:
        """Sorted hashes of every key this state holds something for."""
        held = [*self.pending.values(), *self.firsts.values()]
        return distinct(np.array(held, dtype=np.uint64))

    def add(
        self,
        key: FragmentKey,
        frame: int,
        offset: int,
        more: bool,
        payload: bytes,
        cut: bool,
        *,
        first: FirstFragment | None,
        start: int,
        snaplen: bool,
    ) -> tuple[bool, Occurrence | None]:
        """`decode.reassembly.Fragments.add`, keeping track of the keys held."""
        digest = key_hash_of(key)
        new = key not in self.pending
        if self.guard is not None and _unforeseen(
            self.guard, len(self.pending), digest, frame, new
        ):
            self.broken = True
        if new:
            if len(self.pending) >= MAX_PENDING:
                del self.pending[next(iter(self.pending))]
            self.pending[key] = digest
        if first is not None:
            self.firsts[key] = digest
        done, entry = super().add(
            key, frame, offset, more, payload, cut, first=first, start=start, snaplen=snaplen
        )
        if done:
            del self.pending[key]
            self.firsts.pop(key, None)
        return done, entry


def _unforeseen(guard: Guard, pending: int, digest: int, frame: int, new: bool) -> bool:
    """True when a fragment the reference adds at `frame` (its key's hash `digest`, `new`
    to the `pending` datagrams held) would make the reference differ from the plan."""
    if new and guard.open > 0 and pending + guard.open >= MAX_PENDING:
        # In the reference the plan's open datagrams count too: one could be forgotten.
        return True
    at = int(np.searchsorted(guard.hashes, np.uint64(digest)))
    # A key the plan took, before the plan is done with it: its datagrams would change.
    return (
        at < guard.hashes.shape[0]
        and int(guard.hashes[at]) == digest
        and frame < int(guard.last[at])
    )
