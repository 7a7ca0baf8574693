"""One chunking helper serves batches of work and ``IN (…)`` lists alike."""

from __future__ import annotations

from shared.chunks import IN_LIST, chunks


def test_slices_keep_order_and_the_last_one_is_shorter() -> None:
    assert list(chunks(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]


def test_nothing_gives_no_slice_not_an_empty_one() -> None:
    assert list(chunks([], 3)) == []


def test_an_iterator_is_read_once_and_lazily() -> None:
    lines = iter(["a", "b", "c"])
    first = next(chunks(lines, 2))

    assert first == ["a", "b"]
    assert list(lines) == ["c"]


def test_by_default_a_slice_fits_one_in_list_on_any_database() -> None:
    assert [len(chunk) for chunk in chunks(range(IN_LIST + 1))] == [IN_LIST, 1]
