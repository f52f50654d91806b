"""``python -m vaeserve`` is the ``vaeserve`` command."""

from vaeserve.cli import main

raise SystemExit(main())
