"""A deliberately broken per-entry adapter: it fails differently depending on the symbol."""

from __future__ import annotations

import time
from datetime import datetime

from plugins.base import CalculationAdapter, DataRequirements, SignalDirection, StandardSignal


class FlakyAdapter(CalculationAdapter):
    """MSFT raises, TSLA hangs, NVDA answers with a dict, SPY has no opinion, others are fine."""

    def get_data_requirements(self) -> DataRequirements:
        return DataRequirements(lookback_minutes=60)

    def feed_historical_data(self, bars) -> None:
        self.bars = bars

    def get_signal_at_time(self, entry_time: datetime) -> StandardSignal | None:
        symbol = self.data_cache["symbol"]
        if symbol == "MSFT":
            raise RuntimeError("division by zero in a user formula")
        if symbol == "TSLA":
            time.sleep(3)
        if symbol == "NVDA":
            return {"direction": "UP"}
        if symbol == "SPY":
            return None
        return StandardSignal(
            name="flaky_adapter",
            timestamp=entry_time,
            direction=SignalDirection.BEARISH,
            strength=40.0,
            confidence=55.0,
            metadata={"bars_seen": len(self.bars)},
        )
