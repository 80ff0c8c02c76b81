"""The embedded demo source: SYNTHETIC 1-minute bars, generated here, deterministic.

Nothing in this module is market data. Every bar it makes is stamped with the data source
``demo-synthetic`` so it can never be mistaken for a real price anywhere it shows.

What it imitates: a fixed universe of well-known tickers, every weekday a session (no holidays:
this is a synthetic calendar), extended hours 04:00-20:00 America/New_York with the regular
session 09:30-16:00, a U-shaped intraday volatility and volume profile, thin and gappy extended
hours, and an occasional missing minute in the regular session. A symbol-day is a pure function
of (symbol, date), so any range can be regenerated identically at any time.
"""

from __future__ import annotations

import zlib
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

DATA_SOURCE = "demo-synthetic"
EXCHANGE_TZ = "America/New_York"
CALENDAR_START = date(2020, 1, 1)
CALENDAR_END = date(2027, 12, 31)
SESSION_MINUTES = 16 * 60  # 04:00-20:00 local
REGULAR_OPEN, REGULAR_CLOSE = 330, 720  # minutes after 04:00: 09:30 and 16:00

# symbol: (price on the calendar's first day, daily volatility, regular-session shares per day)
UNIVERSE: dict[str, tuple[float, float, float]] = {
    "AAPL": (75.0, 0.018, 5.5e7),
    "MSFT": (160.0, 0.017, 2.5e7),
    "NVDA": (6.0, 0.030, 4.0e8),
    "AMZN": (95.0, 0.021, 4.5e7),
    "GOOG": (68.0, 0.019, 2.5e7),
    "META": (210.0, 0.025, 1.8e7),
    "TSLA": (28.0, 0.037, 1.0e8),
    "SPY": (320.0, 0.011, 7.5e7),
    "QQQ": (210.0, 0.014, 4.5e7),
    "IWM": (165.0, 0.015, 3.0e7),
    "JPM": (140.0, 0.016, 1.0e7),
    "BAC": (35.0, 0.018, 4.0e7),
    "XOM": (70.0, 0.019, 1.8e7),
    "CVX": (120.0, 0.018, 8.0e6),
    "KO": (55.0, 0.010, 1.3e7),
    "PEP": (137.0, 0.010, 5.0e6),
    "WMT": (40.0, 0.012, 1.8e7),
    "DIS": (145.0, 0.017, 1.0e7),
    "NFLX": (330.0, 0.026, 5.0e6),
    "AMD": (47.0, 0.032, 6.0e7),
    "INTC": (60.0, 0.022, 4.0e7),
    "IBM": (134.0, 0.014, 4.0e6),
    "ORCL": (53.0, 0.017, 9.0e6),
    "CSCO": (48.0, 0.014, 1.8e7),
}


def empty_bars() -> pd.DataFrame:
    """A typed frame with no bars."""
    return pd.DataFrame(
        {
            "symbol": pd.Series(dtype="string"),
            "bar_time": pd.Series(dtype="datetime64[us]"),
            **{
                column: pd.Series(dtype="float64")
                for column in ["open", "high", "low", "close", "volume"]
            },
        }
    )


def _rng(*parts: object) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(":".join(map(str, parts)).encode()))


@lru_cache(maxsize=64)
def _daily_anchors(symbol: str) -> pd.Series:
    """The previous close for every calendar weekday: a seeded random walk per symbol."""
    price, daily_vol, _ = UNIVERSE[symbol]
    days = pd.bdate_range(CALENDAR_START, CALENDAR_END)
    steps = _rng(symbol, "days").normal(0.0003, daily_vol, len(days))
    return pd.Series(price * np.exp(np.cumsum(steps) - steps), index=days.date)


def _intraday_profile() -> tuple[np.ndarray, np.ndarray]:
    """Per-minute volatility and volume multipliers: U-shaped in the session, low outside."""
    minute = np.arange(SESSION_MINUTES)
    regular = (minute >= REGULAR_OPEN) & (minute < REGULAR_CLOSE)
    position = np.clip((minute - REGULAR_OPEN) / (REGULAR_CLOSE - REGULAR_OPEN), 0, 1)
    u_shape = 1.0 + 1.6 * (1 - position) ** 6 + 0.8 * position**6
    volatility = np.where(regular, u_shape, 0.45)
    volume = np.where(regular, u_shape**1.5, 0.02)
    return volatility, volume / volume[regular].sum()


VOLATILITY_PROFILE, VOLUME_PROFILE = _intraday_profile()


def session_bars(symbol: str, day: date) -> pd.DataFrame:
    """All synthetic bars of one symbol on one local trading day (empty for weekends)."""
    anchors = _daily_anchors(symbol)
    if day not in anchors.index:
        return empty_bars()
    _, daily_vol, daily_volume = UNIVERSE[symbol]
    rng = _rng(symbol, day.isoformat())
    minute_vol = daily_vol / np.sqrt(390) * VOLATILITY_PROFILE
    returns = rng.normal(0.0, 1.0, SESSION_MINUTES) * minute_vol
    gap = rng.normal(0.0, daily_vol / 4)
    close = anchors[day] * np.exp(gap + np.cumsum(returns))
    open_ = np.concatenate([[anchors[day] * np.exp(gap)], close[:-1]])
    wick = np.abs(rng.normal(0.0, 0.6, (2, SESSION_MINUTES))) * minute_vol
    high = np.maximum(open_, close) * np.exp(wick[0])
    low = np.minimum(open_, close) * np.exp(-wick[1])
    volume = np.round(daily_volume * VOLUME_PROFILE * rng.lognormal(0.0, 0.5, SESSION_MINUTES))
    regular = (np.arange(SESSION_MINUTES) >= REGULAR_OPEN) & (
        np.arange(SESSION_MINUTES) < REGULAR_CLOSE
    )
    traded = np.where(
        regular, rng.random(SESSION_MINUTES) > 0.004, rng.random(SESSION_MINUTES) < 0.3
    )
    local_start = pd.Timestamp(day).tz_localize(EXCHANGE_TZ) + pd.Timedelta(hours=4)
    times = local_start.tz_convert("UTC").tz_localize(None) + pd.to_timedelta(
        np.arange(SESSION_MINUTES), unit="min"
    )
    open_, close = open_.round(2), close.round(2)
    bars = pd.DataFrame(
        {
            "symbol": symbol,
            "bar_time": times,
            "open": open_,
            "high": np.maximum(np.maximum(open_, high.round(2)), close),
            "low": np.minimum(np.minimum(open_, low.round(2)), close),
            "close": close,
            "volume": np.maximum(volume, 1.0),
        }
    )
    return bars[traded & (volume > 0)]


def local_days(start_time: pd.Timestamp, end_time: pd.Timestamp) -> list[date]:
    """Local (New York) dates touched by the naive-UTC range ``[start_time, end_time)``."""
    first = start_time.tz_localize("UTC").tz_convert(EXCHANGE_TZ).date()
    last = (end_time - pd.Timedelta(minutes=1)).tz_localize("UTC").tz_convert(EXCHANGE_TZ).date()
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def demo_bars(windows: pd.DataFrame) -> pd.DataFrame:
    """Synthetic bars for every known symbol-day the planned windows touch (whole days)."""
    symbol_days = {
        (row.symbol, day)
        for row in windows.itertuples(index=False)
        if row.symbol in UNIVERSE
        for day in local_days(row.start_time, row.end_time)
    }
    frames = [session_bars(symbol, day) for symbol, day in sorted(symbol_days)]
    frames = [frame for frame in frames if not frame.empty]
    return pd.concat(frames, ignore_index=True) if frames else empty_bars()


QUOTES_PER_MINUTE = 4
SPREAD_BPS_REGULAR, SPREAD_BPS_EXTENDED = 1.5, 8.0


def _within_minute(rng: np.random.Generator, bar_times: pd.Series, per_bar: int) -> np.ndarray:
    """Sorted nanosecond stamps, ``per_bar`` of them inside each bar's minute."""
    starts = bar_times.to_numpy().astype("datetime64[ns]").repeat(per_bar)
    offsets = np.sort(rng.integers(0, 60_000_000_000, (len(bar_times), per_bar)), axis=1)
    return starts + offsets.ravel().astype("timedelta64[ns]")


def session_quotes(symbol: str, day: date) -> pd.DataFrame:
    """SYNTHETIC NBBO quotes for one symbol-day: ``QUOTES_PER_MINUTE`` in every traded minute.

    Each quote's mid lies inside its bar's [low, high]; the spread is wider outside the regular
    session; bid and ask are on the cent grid with ask > bid; sizes are round lots.
    """
    bars = session_bars(symbol, day).reset_index(drop=True)
    rng = _rng(symbol, day.isoformat(), "quotes")
    count = len(bars) * QUOTES_PER_MINUTE
    low = bars.low.to_numpy().repeat(QUOTES_PER_MINUTE)
    high = bars.high.to_numpy().repeat(QUOTES_PER_MINUTE)
    mid = low + rng.random(count) * (high - low)
    local = bars.bar_time.dt.tz_localize("UTC").dt.tz_convert(EXCHANGE_TZ)
    minute = (local.dt.hour * 60 + local.dt.minute).to_numpy().repeat(QUOTES_PER_MINUTE)
    regular = (minute >= 570) & (minute < 960)
    spread_bps = np.where(regular, SPREAD_BPS_REGULAR, SPREAD_BPS_EXTENDED)
    half = np.maximum(0.005, mid * spread_bps / 2e4 * rng.uniform(0.6, 1.6, count))
    bid = np.floor((mid - half) * 100) / 100
    ask = np.maximum(np.ceil((mid + half) * 100) / 100, bid + 0.01)
    lots = rng.lognormal(1.2, 0.8, (2, count)).round().clip(1, None) * 100
    return pd.DataFrame(
        {
            "symbol": symbol,
            "sip_time": _within_minute(rng, bars.bar_time, QUOTES_PER_MINUTE),
            "bid_price": bid.round(2),
            "bid_size": lots[0],
            "ask_price": ask.round(2),
            "ask_size": lots[1],
        }
    )


def session_trades(symbol: str, day: date) -> pd.DataFrame:
    """SYNTHETIC trades for one symbol-day that reproduce its bars exactly.

    Every traded minute has between 2 and 6 trades: the first at the bar's open, the last at its
    close, one each at its high and low when they differ, the rest inside [low, high]; their
    sizes add up to the bar's volume.
    """
    bars = session_bars(symbol, day).reset_index(drop=True)
    rng = _rng(symbol, day.isoformat(), "trades")
    per_bar = 6
    prices = np.column_stack(
        [
            bars.open,
            bars.high,
            bars.low,
            bars.low + rng.random(len(bars)) * (bars.high - bars.low),
            bars.low + rng.random(len(bars)) * (bars.high - bars.low),
            bars.close,
        ]
    ).round(2)
    weights = rng.random((len(bars), per_bar)) + 0.05
    sizes = np.floor(weights / weights.sum(axis=1, keepdims=True) * bars.volume.to_numpy()[:, None])
    sizes[:, -1] += bars.volume.to_numpy() - sizes.sum(axis=1)
    trades = pd.DataFrame(
        {
            "symbol": symbol,
            "sip_time": _within_minute(rng, bars.bar_time, per_bar),
            "price": prices.ravel(),
            "size": sizes.ravel(),
        }
    )
    return trades[trades["size"] > 0].reset_index(drop=True)


def demo_ticks(kind: str, windows: pd.DataFrame) -> pd.DataFrame:
    """SYNTHETIC trades or quotes for every known symbol-day the windows touch (whole days)."""
    make = {"trades": session_trades, "quotes": session_quotes}[kind]
    symbol_days = sorted(
        {
            (row.symbol, day)
            for row in windows.itertuples(index=False)
            if row.symbol in UNIVERSE
            for day in local_days(row.start_time, row.end_time)
        }
    )
    frames = [make(symbol, day) for symbol, day in symbol_days]
    frames = [frame for frame in frames if not frame.empty]
    return pd.concat(frames, ignore_index=True) if frames else make("AAPL", date(2020, 1, 4))
