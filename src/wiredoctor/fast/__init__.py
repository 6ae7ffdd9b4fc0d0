"""The fast path: numba kernels that verify whole captures into the columnar tables.

`fast.cache` is imported first so numba finds a writable cache directory before it starts.
The public entry is `fast.verify.verify_batches`.
"""

from wiredoctor.fast import cache as cache
