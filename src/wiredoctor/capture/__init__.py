"""Capture sources: bytes from files, stdin, compressed streams and text become records.

`open.open_capture(path)` is the entry point; it returns a `source.CaptureSource` giving
`record.Record`s one by one or `batch.RecordBatch`es for the fast path. Inside: `detect`
(what the first bytes say), `stream` (mapping windows, spooling pipes and decompressing),
`walk` (the window loop), `pcap` and `pcapng`, whose records are walked by numba kernels
(`pcap_kernel`, `pcapng_kernel`, `readint`, `timestamps_kernel`) in captures of 1 MiB or
more and by plain Python (`pcap_plain`, `pcapng_plain`) below that, and `write` (pcap/pcapng
writers for tests and tools).

This package's __init__ imports nothing, so `capture.record` stays cheap to import.
"""
