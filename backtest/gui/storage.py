"""The Supabase panel: push the results now, or after every run (auto-store)."""

from __future__ import annotations

import os

from PyQt6.QtWidgets import QCheckBox, QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget


def target_text() -> str:
    """Which configured target a push uses, without secrets (the export decides for good)."""
    if os.environ.get("SUPABASE_DB_URL"):
        return "Target: SUPABASE_DB_URL (Postgres)"
    if os.environ.get("SUPABASE_URL"):
        return "Target: SUPABASE_URL (REST)"
    return "No target configured: set SUPABASE_DB_URL, or SUPABASE_URL and SUPABASE_KEY."


class StoragePanel(QGroupBox):
    """The Push to Supabase button and the auto-store option (the export runs in a PushWorker)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Supabase", parent)
        layout = QVBoxLayout(self)
        self.push = QPushButton("Push to Supabase")
        self.push.setToolTip("send every bt_* row changed since the last push, the shown included")
        self.auto = QCheckBox("Auto-store after every run")
        self.target = QLabel(target_text())
        self.target.setWordWrap(True)
        self.target.setStyleSheet("color: #57606a;")
        layout.addWidget(self.push)
        layout.addWidget(self.auto)
        layout.addWidget(self.target)
