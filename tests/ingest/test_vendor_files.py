"""Every real 1-minute dataset in ../shared/data/INVENTORY.md loads with the right options and
matches the facts stated there (bar counts, the 09:30 New York open, DST, labels, gaps)."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pandas as pd
import pytest

from backtest.core.errors import BacktestError
from ingest.files import FileOptions, read_bar_files
from ingest.validation import validate_bars

NEW_YORK = "America/New_York"
BY_NAME = FileOptions(symbol_pattern=r"^([A-Z]+)_")


def local(bars: pd.DataFrame) -> pd.DataFrame:
    """The bars with their New York date and minute of day."""
    stamps = bars.bar_time.dt.tz_localize("UTC").dt.tz_convert(NEW_YORK)
    return bars.assign(day=stamps.dt.date.astype(str), clock=stamps.dt.strftime("%H:%M"))


def regular(bars: pd.DataFrame) -> pd.DataFrame:
    """Bars stamped 09:30-15:59 New York time."""
    bars = local(bars)
    return bars[(bars.clock >= "09:30") & (bars.clock <= "15:59")]


def per_day(bars: pd.DataFrame) -> pd.DataFrame:
    return regular(bars).groupby(["symbol", "day"]).clock.agg(["count", "min", "max"])


def assert_all_valid(bars: pd.DataFrame) -> None:
    outcome = validate_bars(bars)
    assert outcome.rejects.empty, outcome.reason_counts
    assert outcome.success


def test_lean_zips_equal_the_normalised_csv_and_open_at_0930(shared_data):
    folder = shared_data / "lean-algoseek"
    zips = read_bar_files([folder / "minute_zip"])  # a directory: every *_trade.zip below it
    normalised = read_bar_files([folder / "lean_minute_trade_bars_normalized.csv"])
    assert len(zips) == len(normalised) == 21_258
    key = ["symbol", "bar_time"]
    merged = zips.merge(normalised, on=key, suffixes=("", "_csv"), validate="1:1")
    assert len(merged) == len(zips)
    for column in ["open", "high", "low", "close", "volume"]:
        np.testing.assert_allclose(merged[column], merged[f"{column}_csv"], rtol=0, atol=1e-9)
    assert_all_valid(zips)
    days = per_day(zips)
    full = days.drop(index=[("TWX", "2014-06-23")])
    assert (full["min"] == "09:30").all()
    assert days.loc[("TWX", "2014-06-23")][["count", "min", "max"]].tolist() == [
        6,
        "09:30",
        "09:35",
    ]
    for symbol in ["SPY", "BAC", "AAPL", "FOXA", "NWSA"]:
        assert (days.loc[symbol]["count"] == 390).all(), symbol
    assert days.loc[("AIG", "2013-10-07"), "count"] == 389
    assert days.loc[("IBM", "2013-10-04"), "count"] == days.loc[("IBM", "2013-10-11"), "count"]
    assert days.loc[("IBM", "2013-10-11"), "count"] == 389
    assert days.loc[("GOOG", "2015-12-28"), "count"] == 382
    assert days.loc["SHY"]["count"].between(313, 333).all()


def test_lean_dst_switch_keeps_the_open_at_0930_new_york(shared_data):
    bars = read_bar_files([shared_data / "lean-algoseek" / "minute_zip" / "shy"])
    first = regular(bars).groupby("day").bar_time.min()
    assert first.astype(str).to_dict() == {  # EST then EDT: 14:30 and 13:30 UTC
        "2008-03-07": "2008-03-07 14:30:00",
        "2008-03-10": "2008-03-10 13:30:00",
    }


def test_lean_regular_volume_equals_the_daily_file(shared_data):
    folder = shared_data / "lean-algoseek"
    bars = regular(read_bar_files([folder / "minute_zip" / "spy", folder / "minute_zip" / "bac"]))
    minute_volume = bars.groupby(["symbol", "day"]).volume.sum()
    for symbol in ["spy", "bac"]:
        daily = pd.read_csv(
            folder / "daily_zip" / f"{symbol}.zip",
            header=None,
            names=["day", "open", "high", "low", "close", "volume"],
        )
        daily["day"] = pd.to_datetime(daily.day, format="%Y%m%d %H:%M").dt.date.astype(str)
        volumes = daily.set_index("day").volume
        compared = minute_volume.loc[symbol.upper()].loc[lambda days: days.index <= "2021-03-31"]
        assert len(compared) == 6  # the daily file ends in 2021; SPY's 2023 day is not in it
        for day, volume in compared.items():
            assert volume == volumes[day], (symbol, day)


def test_lumibot_yfinance_exports_are_new_york_regular_hours(shared_data):
    names = ["AAPL", "MSFT", "TSLA", "GLD", "TLT"]
    bars = read_bar_files(
        [shared_data / "lumibot" / f"{name}_Minute.csv" for name in names], BY_NAME
    )
    assert_all_valid(bars)
    stamped = local(bars)
    assert stamped.groupby("symbol").size().between(1_166, 1_167).all()
    assert set(stamped.day) == {"2021-08-23", "2021-08-24", "2021-08-25"}
    assert stamped.clock.min() == "09:30" and stamped.clock.max() == "15:59"
    expected = (
        set(
            pd.date_range("2021-08-23 09:30", "2021-08-23 15:59", freq="min").strftime(
                "%Y-%m-%d %H:%M"
            )
        )
        | set(
            pd.date_range("2021-08-24 09:30", "2021-08-24 15:59", freq="min").strftime(
                "%Y-%m-%d %H:%M"
            )
        )
        | set(
            pd.date_range("2021-08-25 09:30", "2021-08-25 15:59", freq="min").strftime(
                "%Y-%m-%d %H:%M"
            )
        )
    )
    missing = {
        symbol: sorted(expected - set(group.day + " " + group.clock))
        for symbol, group in stamped.groupby("symbol")
    }
    common = ["2021-08-23 09:32", "2021-08-24 11:00", "2021-08-25 10:57"]
    assert missing == {
        "AAPL": common,
        "MSFT": common,
        "TSLA": common,
        "GLD": sorted([*common, "2021-08-23 15:23"]),
        "TLT": sorted([*common, "2021-08-23 13:55"]),
    }
    zero = stamped[stamped.volume == 0]
    assert (zero.symbol + " " + zero.day + " " + zero.clock).tolist() == [
        "MSFT 2021-08-23 12:57",
        "MSFT 2021-08-25 12:03",
    ]


def test_lumibot_sparse_single_venue_files(shared_data):
    folder = shared_data / "lumibot"
    bars = read_bar_files(
        [
            folder / "SPY_Minute_2021.csv",
            folder / "UPRO_Minute_2021.csv",
            folder / "SRNE_Minute.csv",
        ],
        FileOptions(symbol_pattern=r"^([A-Z]+)_"),
    )
    assert_all_valid(bars)
    assert bars.groupby("symbol").size().to_dict() == {"SPY": 12_131, "UPRO": 3_090, "SRNE": 5_745}
    spy = local(bars[bars.symbol == "SPY"])
    assert spy.day.nunique() == 31
    assert (spy.day.min(), spy.clock.iloc[0]) == ("2021-07-01", "12:56")
    counts = per_day(bars).loc["SPY"]["count"]
    assert (counts.min(), counts.max(), counts.median()) == (184, 390, 381)
    assert (spy.clock < "09:30").any() or (spy.clock >= "16:00").any()


def test_lumibot_upro_2020_with_extended_hours(shared_data):
    bars = read_bar_files([shared_data / "lumibot" / "UPRO_Minute.csv"], BY_NAME)
    stamped = local(bars)
    assert len(bars) == 59_121 and stamped.day.nunique() == 233
    assert (stamped.clock < "09:30").any() and (stamped.clock >= "16:00").any()
    assert_all_valid(bars)


def test_alpaca_utc_files(shared_data):
    folder = shared_data / "lumibot"
    old = read_bar_files([folder / "AMZN_MINUTE.csv"], FileOptions(symbol="AMZN"))
    assert len(old) == 2_450
    first, last = local(old).iloc[[0, -1]][["day", "clock"]].agg(" ".join, axis=1).tolist()
    assert (first, last) == ("2020-12-31 19:01", "2021-01-08 17:58")
    assert per_day(old)["count"].between(387, 390).all()
    recent = read_bar_files([folder / "AMZN_1M.csv"], FileOptions(symbol="AMZN"))
    stamped = local(recent)
    assert len(recent) == 3_569
    assert sorted(set(stamped.day)) == [f"2025-01-{day}" for day in range(13, 18)]
    assert (stamped.clock.min(), stamped.clock.max()) == ("04:00", "19:59")
    assert (per_day(recent)["count"] == 390).all() and (per_day(recent)["min"] == "09:30").all()
    assert_all_valid(pd.concat([old, recent]))


@pytest.mark.parametrize(
    ("name", "rows", "days"),
    [("nt-spy-minute-2011-03.csv", 17_577, 23), ("nt-spy-minute-2011.csv", 14_180, 20)],
)
def test_ninjatrader_end_labelled_utc_bars(shared_data, name, rows, days):
    bars = read_bar_files([shared_data / "pyalgotrade" / name], FileOptions(symbol="SPY"))
    assert len(bars) == rows
    counts = per_day(bars)
    assert len(counts) == days
    assert (counts["count"] == 390).all()
    assert (counts["min"] == "09:30").all() and (counts["max"] == "15:59").all()
    assert_all_valid(bars)


def test_ninjatrader_dst_switch_and_pyalgotrade_expectations(shared_data):
    bars = read_bar_files(
        [shared_data / "pyalgotrade" / "nt-spy-minute-2011-03.csv"], FileOptions(symbol="SPY")
    )
    opens = regular(bars).groupby("day").bar_time.min()
    assert opens["2011-03-11"] == pd.Timestamp("2011-03-11 14:30")  # EST
    assert opens["2011-03-14"] == pd.Timestamp("2011-03-14 13:30")  # EDT
    stamped = local(bars).set_index(["day", "clock"])
    # pyalgotrade's own test: 2011-03-09 09:31 ET close 132.35 and 16:00 ET close 132.39, read as
    # end-labelled: the bars that start at 09:30 and 15:59
    assert stamped.loc[("2011-03-09", "09:30"), "close"] == 132.35
    assert stamped.loc[("2011-03-09", "15:59"), "close"] == 132.39
    assert bars.bar_time.min() == pd.Timestamp("2011-03-01 09:00")  # raw 090100 is 04:01 ET


def test_ninjatrader_read_as_start_labelled_is_one_minute_late(shared_data):
    path = shared_data / "pyalgotrade" / "nt-spy-minute-2011-03.csv"
    start = read_bar_files([path], FileOptions(symbol="SPY", label="start"))
    end = read_bar_files([path], FileOptions(symbol="SPY"))
    assert ((start.bar_time - end.bar_time) == pd.Timedelta(minutes=1)).all()
    wrong = local(start).set_index(["day", "clock"])
    assert wrong.loc[("2011-03-09", "09:31"), "close"] == 132.35  # a minute late


def test_mplfinance_naive_new_york_index_bars(shared_data):
    folder = shared_data / "mplfinance"
    options = FileOptions(symbol="SPX", tz=NEW_YORK)
    plain = read_bar_files([folder / "SP500_NOV2019_IDay.csv"], options)  # 11/5/2019 9:30
    with_volume = read_bar_files([folder / "SP500_NOV2019_IDayRVol.csv"], options)
    assert len(plain) == len(with_volume) == 1_563
    assert plain.bar_time.tolist() == with_volume.bar_time.tolist()
    np.testing.assert_array_equal(plain.close, with_volume.close)
    assert (plain.volume == 0).all() and (with_volume.volume > 0).all()
    counts = per_day(with_volume)
    assert (counts["count"] == 390).all() and (counts["min"] == "09:30").all()
    closing = local(with_volume).query("clock == '16:00'").day.tolist()
    assert closing == ["2019-11-05", "2019-11-06", "2019-11-07"]  # missing on 11-08
    daily = pd.read_csv(folder / "SP500_NOV2019_Hist.csv")
    daily["day"] = pd.to_datetime(daily.Date, format="%m/%d/%Y").dt.date.astype(str)
    summed = local(with_volume).groupby("day").volume.sum()
    difference = (summed - daily.set_index("day").Volume.loc[summed.index]).abs()
    assert (difference <= 10).all()
    assert_all_valid(pd.concat([plain, with_volume.assign(symbol="SPX2")]))


def test_watstreet_sparse_naive_utc_etfs(shared_data):
    bars = read_bar_files([shared_data / "watstreet-sparse-etf" / "*.csv"], BY_NAME)
    assert bars.groupby("symbol").size().to_dict() == {"DBB": 38_964, "FXY": 78_974, "INDA": 66_269}
    stamped = local(bars)
    assert stamped.groupby("symbol").day.nunique().to_dict() == {
        "DBB": 501,
        "FXY": 501,
        "INDA": 164,
    }
    assert bars[bars.symbol == "DBB"].bar_time.iloc[0] == pd.Timestamp("2023-07-10 13:30")
    assert stamped[stamped.symbol == "DBB"].clock.iloc[0] == "09:30"
    inda = bars[bars.symbol == "INDA"].bar_time
    assert inda.dt.date.nunique() == 167 and str(inda.max().date()) == "2025-06-24"
    hole = inda[(inda > "2023-10-18") & (inda < "2025-02-10")]
    assert hole.empty
    assert_all_valid(bars)


def test_polygon_flat_files_as_a_directory_and_a_glob_of_daily_gz_files(shared_data, tmp_path):
    sample = (
        shared_data / "polygon-flatfile-doc-sample" / "us_stocks_sip_minute_aggs_v1_AAPL_sample.csv"
    )
    daily = tmp_path / "us_stocks_sip" / "minute_aggs_v1" / "2025" / "04"
    daily.mkdir(parents=True)
    with open(sample, "rb") as source, gzip.open(daily / "2025-04-16.csv.gz", "wb") as target:
        shutil.copyfileobj(source, target)
    by_directory = read_bar_files([tmp_path / "us_stocks_sip"])
    by_glob = read_bar_files([str(tmp_path / "**" / "2025-04-*.csv.gz")])
    plain = read_bar_files([sample])
    for bars in (by_directory, by_glob):
        pd.testing.assert_frame_equal(bars.drop(columns="origin"), plain.drop(columns="origin"))
    clocks = local(plain).clock.tolist()
    assert clocks == [f"04:{minute}" for minute in range(35, 47)]


def test_column_mapping_epoch_units_and_the_errors_a_user_sees(tmp_path):
    exported = tmp_path / "export.csv"
    exported.write_text("Stamp,First,Max,Min,Last,Qty\n1719495300,10,11,9,10.5,100\n")
    mapping = {
        "stamp": "timestamp",
        "first": "open",
        "max": "high",
        "min": "low",
        "last": "close",
        "qty": "volume",
    }
    bars = read_bar_files([exported], FileOptions(columns=mapping, symbol="AAPL"))
    assert bars.bar_time.tolist() == [pd.Timestamp("2024-06-27 13:35")]
    assert bars.close.tolist() == [10.5]
    for unit, scale in [("ms", 10**3), ("us", 10**6), ("ns", 10**9)]:
        exported.write_text(f"symbol,t,o,h,l,c,v\nAAPL,{1719495300 * scale},10,11,9,10.5,100\n")
        assert read_bar_files([exported]).bar_time.tolist() == [pd.Timestamp("2024-06-27 13:35")]
        explicit = read_bar_files([exported], FileOptions(time_unit=unit))
        assert explicit.bar_time.tolist() == [pd.Timestamp("2024-06-27 13:35")], unit
    split = tmp_path / "split.csv"
    split.write_text("Date,Time,Open,High,Low,Close,Volume\n06/27/2024,09:35,10,11,9,10.5,100\n")
    bars = read_bar_files([split], FileOptions(symbol="AAPL", tz=NEW_YORK))
    assert bars.bar_time.tolist() == [pd.Timestamp("2024-06-27 13:35")]
    with pytest.raises(BacktestError, match="no symbol or ticker column: pass --bars-symbol"):
        read_bar_files([split])
    with pytest.raises(BacktestError, match="Time zone 'Mars/Olympus' is unknown"):
        FileOptions(tz="Mars/Olympus")
    with pytest.raises(BacktestError, match="matches no file"):
        read_bar_files([str(tmp_path / "*.parquet")])
    with pytest.raises(BacktestError, match="Column mapping target 'price' is unknown"):
        FileOptions(columns={"last": "price"})
    with pytest.raises(BacktestError, match="does not exist"):
        read_bar_files([tmp_path / "absent.csv"])
