from edgeadm.cli import main

raise SystemExit(main())
