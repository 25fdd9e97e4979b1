from xerolink.entry import main

raise SystemExit(main())
