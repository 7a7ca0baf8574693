"""``fold`` equals the plain definition: NFD of the whole text, marks dropped, case folded."""

from __future__ import annotations

import unicodedata

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from shared.text import fold_diacritics
from shared.text_columns import ENGINE_FOLDS, fold_column


def plain_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "d"))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())


def test_vietnamese_names_lose_their_diacritics() -> None:
    assert fold_diacritics("  Đăng ký   SÁNG KIẾN ") == "dang ky sang kien"
    assert fold_diacritics("LĐLĐ tỉnh Bắc Kạn") == "ldld tinh bac kan"


@given(st.text())
def test_folding_character_by_character_equals_folding_the_text(text: str) -> None:
    assert fold_diacritics(text) == plain_fold(text)


VIETNAMESE = st.text(
    alphabet=st.sampled_from(" \t  ĐđăâêôơưÁẮẤÉẾÍÓỐỚÚỨÝàằầèềìòồờùừỳAaZz09-.,!?"), max_size=40
)


@given(st.lists(st.one_of(st.none(), st.text(), VIETNAMESE), max_size=30))
def test_a_column_folds_as_each_of_its_texts_does(texts: list[str | None]) -> None:
    """The engine's fold of a column (with Python's for text it cannot fold) equals
    ``fold_diacritics`` of each text, whatever the mix."""
    folded = fold_column(pl.Series(texts, dtype=pl.String)).to_list()
    assert folded == [None if text is None else fold_diacritics(text) for text in texts]


def test_vietnamese_titles_are_folded_by_the_engine() -> None:
    """The fast path is taken for the titles a campaign has (mixing in other text would
    still be exact, through Python)."""
    titles = pl.Series(["  Đăng ký   SÁNG KIẾN số 12 ", "LĐLĐ tỉnh Bắc Kạn"])
    assert titles.str.contains(ENGINE_FOLDS).all()
    assert fold_column(titles).to_list() == ["dang ky sang kien so 12", "ldld tinh bac kan"]
