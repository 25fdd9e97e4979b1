from xerolink.cli import main

raise SystemExit(main())
