from lpms.cli import main

raise SystemExit(main())
