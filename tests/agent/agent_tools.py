"""A user tool module for the agent tests (loaded with --tools, run in the sandbox)."""

from lamstudio.tools import tool


@tool
def lookup_stock(symbol: str) -> dict:
    """Price of a stock symbol (its data feed is down: it always raises).

    Args:
        symbol: Ticker symbol, e.g. ACME.
    """
    raise ConnectionError(f"price feed unreachable for {symbol}")
