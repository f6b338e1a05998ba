"""``gather_or_cancel``: results in order, or the first failure with every sibling stopped."""

from __future__ import annotations

import asyncio

import pytest

from lamstudio.llm import gather_or_cancel


def test_results_come_back_in_order() -> None:
    async def value(x: int, delay: float) -> int:
        await asyncio.sleep(delay)
        return x

    assert asyncio.run(gather_or_cancel([value(1, 0.02), value(2, 0.0)])) == [1, 2]


def test_one_failure_cancels_the_others() -> None:
    finished: list[str] = []

    async def slow() -> None:
        await asyncio.sleep(5)
        finished.append("slow")

    async def bad() -> None:
        raise PermissionError("401")

    async def main() -> None:
        with pytest.raises(PermissionError):
            await gather_or_cancel([slow(), bad()])
        await asyncio.sleep(0.05)

    asyncio.run(main())
    assert finished == []
