"""Dashboard tests with real widgets (pytest-qt, offscreen)."""
