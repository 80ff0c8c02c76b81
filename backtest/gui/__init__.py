"""The dashboard: a PyQt6 window on the warehouse for traders (``backtest gui``).

Only the command line imports this package, and only when ``backtest gui`` runs. The window's
modules load on first use, so a backtest's child process (``backtest.gui.child``) imports
neither Qt nor the window.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_gui", "save_screenshot"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from backtest.gui import app

        return getattr(app, name)
    raise AttributeError(f"module 'backtest.gui' has no attribute {name!r}")
