"""The seed's entry point: ``python backtest/backtest_system.py --gui | --cli [run flags]``.

``--gui [--db PATH]`` opens the dashboard (``backtest gui``; its other flags pass through);
``--cli`` followed by the seed's run flags (``--symbol``, ``--entry-time``, ``--direction``,
``--calculation``, ``--store-supabase``, ``--output``, ...) is exactly ``backtest run``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

USAGE = (
    "usage: backtest_system.py --gui [--db PATH] | --cli --symbol S --entry-time T "
    "--direction D [backtest run flags]"
)


def _importable_from_anywhere() -> None:
    """Run as a script, Python puts this file's folder first on the path, where ``core``,
    ``build`` and friends would shadow real packages: put the repository root there instead."""
    here, root = Path(__file__).resolve().parent, Path(__file__).resolve().parents[1]
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``--gui`` to ``backtest gui`` and ``--cli`` to ``backtest run``."""
    args = list(sys.argv[1:] if argv is None else argv)
    modes = [mode for mode in ("--gui", "--cli") if mode in args]
    if len(modes) != 1:
        print(f"{USAGE}\nerror: give exactly one of --gui or --cli.", file=sys.stderr)
        return 2
    args.remove(modes[0])
    from backtest.cli import main as backtest

    return backtest(["gui" if modes[0] == "--gui" else "run", *args])


if __name__ == "__main__":
    _importable_from_anywhere()
    sys.exit(main())
