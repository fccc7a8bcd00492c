from sheets_kpi.cli import main

raise SystemExit(main())
