"""quote_imbalance for one entry, in pandas (the dbt models do the same set-based).

Over the quotes with ``entry - 5 min <= quote_time < entry``:
``size_imbalance = (sum bid_size - sum ask_size) / (sum bid_size + sum ask_size)`` in [-1, 1];
BULLISH above +0.15, BEARISH below -0.15, NEUTRAL between or with fewer than 5 quotes.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from plugins.base import CalculationAdapter, DataRequirements, SignalDirection, StandardSignal

WINDOW_MINUTES = 5
THRESHOLD = 0.15
FULL_STRENGTH_IMBALANCE = 0.60
MIN_QUOTES = 5
FULL_CONFIDENCE_QUOTES = 20
WIDE_SPREAD_BPS = 25.0


class QuoteImbalanceAdapter(CalculationAdapter):
    """Reads the quotes from the shared data cache (``cache["quotes"]``)."""

    def get_data_requirements(self) -> DataRequirements:
        return DataRequirements(lookback_minutes=WINDOW_MINUTES, needs_quotes=True)

    def feed_historical_data(self, bars: pd.DataFrame) -> None:
        self.bars = bars

    def get_signal_at_time(self, entry_time: datetime) -> StandardSignal | None:
        quotes = self.data_cache.get("quotes")
        if quotes is None or quotes.empty:
            return None
        entry = pd.Timestamp(entry_time)
        seen = quotes[
            (quotes.quote_time >= entry - pd.Timedelta(minutes=WINDOW_MINUTES))
            & (quotes.quote_time < entry)
        ]
        if seen.empty:
            return None
        bid, ask = seen.bid_size.sum(), seen.ask_size.sum()
        imbalance = float((bid - ask) / (bid + ask))
        mid = (seen.bid_price + seen.ask_price) / 2
        spread_bps = float((1e4 * (seen.ask_price - seen.bid_price) / mid).mean())
        if len(seen) < MIN_QUOTES or abs(imbalance) <= THRESHOLD:
            direction, strength = SignalDirection.NEUTRAL, 0.0
        else:
            direction = SignalDirection.BULLISH if imbalance > 0 else SignalDirection.BEARISH
            strength = round(min(100.0, 100 * abs(imbalance) / FULL_STRENGTH_IMBALANCE), 2)
        quote_share = min(1.0, len(seen) / FULL_CONFIDENCE_QUOTES)
        spread_factor = max(0.0, 1 - spread_bps / WIDE_SPREAD_BPS)
        confidence = round(100 * quote_share * spread_factor, 2)
        return StandardSignal(
            name="quote_imbalance",
            timestamp=entry_time,
            direction=direction,
            strength=strength,
            confidence=confidence,
            metadata={
                "size_imbalance": imbalance,
                "mean_spread_bps": spread_bps,
                "quotes_used": len(seen),
            },
        )
