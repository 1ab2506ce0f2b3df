"""Entry point of the frozen `edgeadm` executable (hack/build-executable.sh)."""

from edgeadm.cli import main

raise SystemExit(main())
