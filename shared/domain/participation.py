"""Participation (lượt đăng ký và nộp): how many took part, beside submitted and valid.

Bắc Kạn counted "455 lượt cán bộ, đoàn viên … đăng ký và nộp sáng kiến": registrations and
submissions together. Here participation is two figures of a unit and phase:

- **initiatives**: those registered or submitted and attributed to the phase, each once
  whatever became of it later (withdrawn and rejected ones included): the sum of every
  status count;
- **authors**: the distinct people named as authors of those initiatives, each once by
  ``member_id``, or by folded name when it has none. Only a key derived from that is kept
  (:func:`author_key`), so the read models hold no name beyond the initiatives' own rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from shared.contracts.initiatives import Author
from shared.text import fold_diacritics


def author_key(author: Author) -> str:
    """A stable pseudonym: the same member (or, without a member id, the same name however
    its diacritics and case were typed) gives the same key in every initiative."""
    return key_of(author.member_id, author.name)


def key_of(member_id: str | None, name: str) -> str:
    """:func:`author_key` from an author's member id and name, for folds that key each
    distinct author once rather than each author entry."""
    who = f"member:{member_id}" if member_id else f"name:{fold_diacritics(name)}"
    return hashlib.sha256(who.encode()).hexdigest()[:24]


def author_keys(authors: Iterable[Author]) -> tuple[str, ...]:
    """Each author's key once, in order of first appearance."""
    return tuple(dict.fromkeys(author_key(author) for author in authors))


def participating(counts: Mapping[str, int]) -> int:
    """Initiatives registered or submitted, from the counts per lifecycle status."""
    return sum(counts.values())
