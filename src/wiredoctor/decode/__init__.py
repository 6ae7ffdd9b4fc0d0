"""Typed reference decoders and the reference verifier: the readable truth both speeds share.

Modules: `values` (what malformed bytes become), `link`, `ipv4`, `ipv6`, `tcp`, `l4`, `tunnel`
(one header family each), `layers` (the decoded-frame types), `frame` (`decode_frame`: the
walk from the link type inward) and `network` (its IP part), `checksums` (which bytes each
checksum covers), `reassembly` (fragments), `trailer` (Ethernet padding/trailer split),
`fnv` (`payload_hash`), `verify` (`verify_records`, `Verifier`: records to tables).

Always holds: nothing here raises on packet bytes; nothing here imports numba or dpkt.
"""
