"""A bounded buffer that keeps its items sorted by key, for data that arrives mostly in order.

Time & sales and bars arrive almost always newest-last, so the common case is an O(1) append;
a late item (an out-of-order tick packet, a re-sent history page) is placed by a search that
starts at the newest end (where late items almost always belong).
When the buffer is over capacity the item with the smallest key is dropped.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Any)
T = TypeVar("T")


class SortedRing(Generic[K, T]):
    """Items ordered by ``key``; at most ``capacity`` of them (``None``: unbounded).

    Keys are unique: :meth:`add` refuses a key already present, :meth:`put` replaces the
    item stored under it. ``on_evict`` is told about every item dropped for capacity.
    """

    __slots__ = ("_capacity", "_items", "_keys", "_on_evict")

    def __init__(self, capacity: int | None,
                 on_evict: Callable[[T], None] | None = None) -> None:
        if capacity is not None and capacity <= 0:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self._capacity = capacity
        self._keys: deque[K] = deque()
        self._items: deque[T] = deque()
        self._on_evict = on_evict

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __reversed__(self) -> Iterator[T]:
        return reversed(self._items)

    def add(self, key: K, item: T) -> bool:
        """Insert ``item``; ``False`` (nothing stored) if ``key`` is already present or the
        buffer is full and ``key`` is older than everything kept."""
        keys = self._keys
        if not keys or key > keys[-1]:
            keys.append(key)
            self._items.append(item)
        else:
            index = self._index(key)
            if keys[index] == key or (index == 0 and self._full()):
                return False
            keys.insert(index, key)
            self._items.insert(index, item)
        if self._capacity is not None and len(keys) > self._capacity:
            self._trim()
        return True

    def put(self, key: K, item: T) -> bool:
        """Insert or replace the item stored under ``key``; ``True`` if the key is new.

        A key older than everything in a full buffer is not stored (and reported new)."""
        keys = self._keys
        if keys and key == keys[-1]:
            self._items[-1] = item
            return False
        if not keys or key > keys[-1]:
            keys.append(key)
            self._items.append(item)
            self._trim()
            return True
        index = self._index(key)
        if keys[index] == key:
            self._items[index] = item
            return False
        if index == 0 and self._full():
            return True
        keys.insert(index, key)
        self._items.insert(index, item)
        self._trim()
        return True

    def oldest(self) -> tuple[K, T] | None:
        return (self._keys[0], self._items[0]) if self._keys else None

    def pop_before(self, bound: Any) -> list[T]:
        """Remove and return, oldest first, the items whose key is less than ``bound`` (any
        value keys compare with, e.g. a tuple key's prefix)."""
        keys, items = self._keys, self._items
        popped: list[T] = []
        while keys and keys[0] < bound:
            keys.popleft()
            popped.append(items.popleft())
        return popped

    def first_from(self, bound: Any) -> T | None:
        """The oldest item whose key is not less than ``bound`` (any value keys compare with,
        e.g. a tuple key's prefix), without removing anything: O(1) when it is the oldest
        item, else a binary search (no copy)."""
        keys = self._keys
        if not keys or keys[-1] < bound:
            return None
        if not keys[0] < bound:
            return self._items[0]
        return self._items[bisect_left(keys, bound)]

    def newest(self) -> T | None:
        return self._items[-1] if self._items else None

    def snapshot(self, last: int | None = None) -> tuple[T, ...]:
        """The items oldest first as a tuple (only the ``last`` newest ones if given)."""
        items = self._items
        if last is None or last >= len(items):
            return tuple(items)
        if last <= 0:
            return ()
        return tuple(items[i] for i in range(len(items) - last, len(items)))

    def _index(self, key: K) -> int:
        """``bisect_left`` for a key not newer than the newest, searched from the newest
        end: a late item almost always belongs among the last few, and indexing a deque far
        from its ends costs O(n), so probe 1, 2, 4... back before bisecting that span."""
        keys = self._keys
        newest = len(keys) - 1
        high = newest  # keys[high] >= key
        step = 1
        while True:
            probe = newest - step
            if probe < 0:
                return bisect_left(keys, key, 0, high)
            if keys[probe] < key:
                return bisect_left(keys, key, probe + 1, high)
            high = probe
            step <<= 1

    def _full(self) -> bool:
        return self._capacity is not None and len(self._keys) >= self._capacity

    def _trim(self) -> None:
        if self._capacity is None:
            return
        while len(self._keys) > self._capacity:
            self._keys.popleft()
            dropped = self._items.popleft()
            if self._on_evict is not None:
                self._on_evict(dropped)
