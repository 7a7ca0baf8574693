"""``fold`` equals the plain definition: NFD of the whole text, marks dropped, case folded."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from shared.text import fold_diacritics


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
