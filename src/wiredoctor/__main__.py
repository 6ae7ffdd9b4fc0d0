"""`python -m wiredoctor` runs the command line."""

from wiredoctor.cli import main

raise SystemExit(main())
