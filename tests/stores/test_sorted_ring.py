"""``SortedRing`` against a plain sorted model: any sequence of adds and puts (keys late by
any amount, duplicates, a full buffer) keeps the same items in the same order, evicts the
same ones and answers the same."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tradovate_api.stores.ring import SortedRing

operations = st.lists(st.tuples(st.sampled_from(["add", "put", "pop_before"]),
                                st.integers(0, 60), st.integers()), max_size=200)


class Model:
    def __init__(self, capacity: int | None) -> None:
        self.capacity = capacity
        self.items: dict[int, int] = {}
        self.evicted: list[int] = []

    def _full_and_oldest(self, key: int) -> bool:
        return (self.capacity is not None and len(self.items) >= self.capacity
                and key < min(self.items))

    def _insert(self, key: int, item: int) -> None:
        self.items[key] = item
        while self.capacity is not None and len(self.items) > self.capacity:
            self.evicted.append(self.items.pop(min(self.items)))

    def add(self, key: int, item: int) -> bool:
        if key in self.items or self._full_and_oldest(key):
            return False
        self._insert(key, item)
        return True

    def put(self, key: int, item: int) -> bool:
        if key in self.items:
            self.items[key] = item
            return False
        if not self._full_and_oldest(key):
            self._insert(key, item)
        return True

    def pop_before(self, bound: int, _: int) -> list[int]:
        keys = sorted(k for k in self.items if k < bound)
        return [self.items.pop(k) for k in keys]

    def ordered(self) -> list[int]:
        return [self.items[k] for k in sorted(self.items)]


@given(operations, st.one_of(st.none(), st.integers(1, 12)))
def test_sorted_ring_matches_a_sorted_model(ops: list[tuple[str, int, int]],
                                            capacity: int | None) -> None:
    evicted: list[int] = []
    ring: SortedRing[int, int] = SortedRing(capacity, evicted.append)
    model = Model(capacity)
    for op, key, item in ops:
        if op == "pop_before":
            assert ring.pop_before(key) == model.pop_before(key, item)
        else:
            assert getattr(ring, op)(key, item) == getattr(model, op)(key, item)
        assert list(ring) == model.ordered()
    assert evicted == model.evicted
    assert ring.newest() == (model.ordered()[-1] if model.items else None)


def test_first_from_is_the_oldest_item_not_before_the_bound() -> None:
    ring: SortedRing[tuple[int, int], str] = SortedRing(None)
    assert ring.first_from((0,)) is None
    for ts, ident in ((10, 1), (10, 2), (20, 3), (30, 4), (25, 5)):
        ring.add((ts, ident), f"{ts}/{ident}")
    assert [ring.first_from((b,)) for b in (0, 10, 11, 20, 21, 26, 30, 31)] == [
        "10/1", "10/1", "20/3", "20/3", "25/5", "30/4", "30/4", None]
    assert len(ring) == 5  # nothing removed
