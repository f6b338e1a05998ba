"""A user tool module for the agent tests (loaded with --tools, run in the sandbox)."""

from lamstudio.tools import tool


@tool
def lookup_stock(symbol: str) -> dict:
    """Price of a stock symbol (its data feed is down: it always raises).

    Args:
        symbol: Ticker symbol, e.g. ACME.
    """
    raise ConnectionError(f"price feed unreachable for {symbol}")


@tool
def slow_report(topic: str) -> dict:
    """Write a report on a topic (takes longer than any time limit).

    Args:
        topic: What the report is about.
    """
    import time

    time.sleep(30)
    return {"topic": topic}
