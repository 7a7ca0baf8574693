"""Search keys that ignore Vietnamese diacritics and case: "ba che" finds "Ba Chẽ"."""

from __future__ import annotations

import unicodedata


class _BareLetters(dict[int, str]):
    """Each character without tone marks or vowel diacritics, ``đ`` as ``d``, learnt on first
    sight: ``str.translate`` then folds a whole title in one pass in C (a projector folds
    every initiative's title). Decomposing character by character equals decomposing the
    string, since every combining mark is dropped anyway."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if char in "đĐ":
            bare = "d"
        else:
            decomposed = unicodedata.normalize("NFD", char)
            bare = "".join(part for part in decomposed if not unicodedata.combining(part))
        self[code] = bare
        return bare


_BARE = _BareLetters()


def fold_diacritics(text: str) -> str:
    """Lower case, without tone marks or vowel diacritics, ``đ`` as ``d``, single spaces."""
    return " ".join(text.translate(_BARE).casefold().split())
