"""``python -m backtest.cli``: the same as the ``backtest`` command."""

import sys

from backtest.cli import main

sys.exit(main())
