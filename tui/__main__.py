from tui.commands import main

raise SystemExit(main())
