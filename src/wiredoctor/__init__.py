"""wiredoctor: reads packet captures and host evidence and says what is wrong with the network.

The package is layered (see DESIGN.md): capture → {fast, decode, checksum} → {checks, diff}
→ diagnose → report → cli, with host as a leaf used by diagnose, report and cli.
"""

__version__ = "0.1.0"
