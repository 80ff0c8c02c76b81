from __future__ import annotations

from flaky_adapter.adapter import FlakyAdapter
from plugins.base import BacktestPlugin


class FlakyAdapterPlugin(BacktestPlugin):
    name = "flaky_adapter"
    version = "0.0.1"
    adapter_name = "FlakyAdapter"
    adapter_class = FlakyAdapter
    storage_table = "bt_flaky_adapter"
    runs = "adapter"
    timeout_seconds = 0.5
