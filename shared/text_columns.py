""":func:`shared.text.fold_diacritics` for a whole column, in the columnar engine.

A rebuild folds 2.4 million titles; called per title from Polars it was about 17 s of Python
holding the interpreter lock in the engine's threads. Text made only of printable ASCII and
the Latin letters that fold to one ASCII letter (all of Vietnamese) is folded here by the
engine with a table built from ``fold_diacritics`` itself, so both agree by construction;
any other text (other scripts, other spaces, control characters) is still folded by it.
"""

from __future__ import annotations

import polars as pl

from shared.text import fold_diacritics

_LETTERS = {
    char: folded
    for char in map(chr, range(0xC0, 0x1F00))
    if len(folded := fold_diacritics(char)) == 1 and folded.isascii() and folded.isalnum()
}
"""Each Latin letter beyond ASCII that folds to one ASCII letter or digit, and its fold."""
ENGINE_FOLDS = r"^[\x20-\x7E" + "".join(_LETTERS) + "]*$"
"""Text the engine folds: printable ASCII (where only the space is white, and ``casefold``
changes letters as ``lower`` does) and those letters."""


def fold_column(texts: pl.Series) -> pl.Series:
    """``fold_diacritics`` of each text (nulls stay null)."""
    folded = (
        texts.str.replace_many(list(_LETTERS), list(_LETTERS.values()))
        .str.to_lowercase()
        .str.replace_all(" {2,}", " ")
        .str.strip_chars(" ")
    )
    by_engine = texts.str.contains(ENGINE_FOLDS).fill_null(True)
    if by_engine.all():
        return folded
    others = (~by_engine).arg_true()
    rest = [fold_diacritics(text) for text in texts.gather(others).to_list()]
    return folded.scatter(others, rest)
