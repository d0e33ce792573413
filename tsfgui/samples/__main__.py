"""``python -m tsfgui.samples``: make a synthetic micro-expression video (see ``--help``)."""

from tsfgui.samples.cli import main

raise SystemExit(main())
