from gildash.cli import main

raise SystemExit(main())
