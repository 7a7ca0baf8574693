"""Search keys that ignore Vietnamese diacritics and case: "ba che" finds "Ba Chẽ"."""

from __future__ import annotations

import unicodedata

_LETTERS = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str) -> str:
    """Lower case, without tone marks or vowel diacritics, ``đ`` as ``d``, single spaces."""
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())
