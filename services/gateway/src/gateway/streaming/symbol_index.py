"""Who listens to which symbol on one channel of the market-data stream (``*``: every one)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

WILDCARD = "*"
T = TypeVar("T", bound=Hashable)


class SymbolIndex(Generic[T]):
    def __init__(self) -> None:
        self._by_symbol: defaultdict[str, set[T]] = defaultdict(set)

    def __bool__(self) -> bool:
        return bool(self._by_symbol)

    def change(self, listener: T, old: frozenset[str], new: frozenset[str]) -> None:
        for symbol in old - new:
            listeners = self._by_symbol.get(symbol)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._by_symbol[symbol]
        for symbol in new - old:
            self._by_symbol[symbol].add(listener)

    def listeners(self, symbol: str) -> Iterator[T]:
        """Each listener of ``symbol`` once (by name or by wildcard)."""
        named = self._by_symbol.get(symbol, set())
        yield from named
        for listener in self._by_symbol.get(WILDCARD, ()):
            if listener not in named:
                yield listener

    def wants(self, symbol: str) -> bool:
        return symbol in self._by_symbol or WILDCARD in self._by_symbol
