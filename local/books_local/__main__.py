from __future__ import annotations

from books_local.cli import main

raise SystemExit(main())
