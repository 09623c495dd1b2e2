"""Real names (issue 21): Chinese characters, the parts of a minority name joined by "·", or
Latin letters for foreign nationals; anything else refused with a message in Chinese that
says what is wrong. Properties checked by hypothesis."""

import string

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from core.text import validate_real_name

HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
LATIN_WORD = st.text(alphabet=string.ascii_letters + "éèüöñçÉÖ", min_size=1, max_size=12)
DOTS = st.sampled_from(["·", "•", "・", ".", "．", " · "])


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


@given(st.lists(st.text(alphabet=HAN, min_size=1, max_size=6), min_size=1, max_size=3), DOTS)
def test_chinese_names_and_minority_names_are_accepted_with_one_middle_dot(parts, dot):
    name = validate_real_name(f"  {dot.join(parts)} ")
    assert name == "·".join(parts) or len("·".join(parts)) > 60


@given(st.lists(LATIN_WORD, min_size=1, max_size=4), st.sampled_from([" ", "  ", "-", "'"]))
def test_latin_names_of_foreign_nationals_are_accepted(words, joiner):
    raw = joiner.join(words)
    if len(raw) > 60:
        return
    assert validate_real_name(raw) == " ".join(raw.split())


@given(
    st.text(alphabet=HAN, min_size=1, max_size=4),
    st.sampled_from(["1", "😀", "\u202e", "\u200b", "\x07", "@", "_", "①", "Ⅲ", "#"]),
    st.text(alphabet=HAN, min_size=0, max_size=4),
)
def test_anything_else_is_refused_with_a_chinese_message(before, odd, after):
    with pytest.raises(ValidationError) as refused:
        validate_real_name(before + odd + after)
    message = refused.value.messages[0]
    assert any("\u4e00" <= c <= "\u9fff" for c in message), message
    assert "变量" not in message


def test_mixed_scripts_and_overlong_names_are_refused_and_said_why():
    for mixed in ("张三John", "张三 John", "李明2", "·李明", "李明·"):
        with pytest.raises(ValidationError, match="请按身份证填写汉字姓名"):
            validate_real_name(mixed)
    with pytest.raises(ValidationError) as too_long:
        validate_real_name("李" * 2000)
    assert too_long.value.messages == ["太长了：最多 60 个字（这里有 2000 个）。"]
    assert validate_real_name("ＪＯＨＮ  ｓｍｉｔｈ") == "JOHN smith"
    assert validate_real_name("王 五") == "王五"


@pytest.mark.django_db
def test_the_join_form_keeps_a_long_name_and_says_what_is_too_long(client, tree):
    from django.urls import reverse

    from tests.factories import person_data

    url = reverse("join-apply", args=[tree.union_a.pk])
    page = client.get(url).content.decode()
    assert 'maxlength="60"' not in page and "姓名" in page
    data = {**person_data(name="李" * 200), "privacy_consent": "on", "sensitive_consent": "on"}
    response = client.post(url, {**data, "password1": "x", "password2": "x"})
    assert "太长了：最多 60 个字（这里有 200 个）。" in response.content.decode()
    data["name"] = "李😀明"
    response = client.post(url, {**data, "password1": "x", "password2": "x"})
    assert "U+1F600" in response.content.decode()
