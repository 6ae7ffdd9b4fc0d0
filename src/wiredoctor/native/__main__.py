"""`python -m wiredoctor.native`: build the compiled kernels now (an install step), so the
first large capture does not wait for them. Prints where they are; exit 1 when this machine
cannot build them (numba's JIT then runs the kernels)."""

from __future__ import annotations

import os
import sys

from wiredoctor.native.library import SWITCH, ensure_built


def main() -> int:
    if os.environ.get(SWITCH) == "0":
        sys.stderr.write(f"wiredoctor: {SWITCH}=0 is set: numba's JIT runs the kernels\n")
        return 1
    where = ensure_built()
    if where is None:
        sys.stderr.write("wiredoctor: the compiled kernels could not be built here\n")
        return 1
    sys.stdout.write(f"{where}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
