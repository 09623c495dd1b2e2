"""The public union directory (找工会): search, a union's page, and what every page declares."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from stdnum.cn import uscc

from organizations.actions import dissolve_organization
from organizations.models import Level
from organizations.validators import pinyin_keys
from tests.factories import OrganizationFactory

DIRECTORY = "/"


def search(client, **params):
    response = client.get(DIRECTORY, params)
    assert response.status_code == 200
    return response


def found(response) -> list[str]:
    """Names on the result page, in the order shown."""
    results = response.context["results"]
    assert results is not None, "the page ran no search"
    return [org.name for org in results]


def add_unions(parent, count: int, prefix: str = "杭州测试") -> list:
    return [
        OrganizationFactory(
            name=f"{prefix}{i:02d}有限公司工会", level=Level.GRASSROOTS, parent=parent
        )
        for i in range(count)
    ]


# --------------------------------------------------------------------------- #
# Search
# --------------------------------------------------------------------------- #


def test_anonymous_search_by_chinese_fragment_finds_every_union_containing_it(client, tree):
    response = search(client, q="杭州")

    assert set(found(response)) == {tree.hz.name, tree.union_a.name, tree.union_b.name}
    assert tree.union_a.name in response.content.decode()


def test_pinyin_initials_are_the_first_letters_of_each_syllable():
    assert pinyin_keys("杭州市总工会") == ("hangzhoushizonggonghui", "hzszgh")


def test_search_by_initials_matches_anywhere_in_the_full_or_short_name(client, tree):
    assert found(search(client, q="hzs")) == [tree.hz.name]
    assert set(found(search(client, q="hz"))) == {
        tree.hz.name,
        tree.union_a.name,
        tree.union_b.name,
    }


def test_search_by_initials_ignores_case_and_spaces(client, tree):
    assert found(search(client, q=" HZ S ")) == [tree.hz.name]


def test_search_by_full_pinyin(client, tree):
    assert set(found(search(client, q="hangzhou"))) == {
        tree.hz.name,
        tree.union_a.name,
        tree.union_b.name,
    }
    assert found(search(client, q="shenzhenshi")) == [tree.sz.name]


def test_search_by_credit_code_finds_that_union(client, tree):
    code = tree.union_a.uscc

    assert found(search(client, q=code)) == [tree.union_a.name]
    assert found(search(client, q=code.lower())) == [tree.union_a.name]


def test_search_by_credit_code_ending_in_a_letter(client, tree):
    body = next(
        b for n in range(1000) if not uscc.calc_check_digit(b := f"813301069{n:08d}").isdigit()
    )
    org = OrganizationFactory(
        name="杭州丁有限公司工会",
        level=Level.GRASSROOTS,
        parent=tree.xihu,
        uscc=body + uscc.calc_check_digit(body),
    )

    assert found(search(client, q=org.uscc.lower())) == [org.name]


def test_search_by_region_code_digits(client, tree):
    assert set(found(search(client, q="4403"))) == {tree.sz.name, tree.union_c.name}


def test_search_by_region_finds_only_unions_of_that_province(client, tree):
    names = found(search(client, region="440000"))

    assert set(names) == {tree.gd.name, tree.sz.name, tree.union_c.name}


def test_region_choices_list_the_provincial_federations(client, tree):
    response = search(client)
    choices = dict(response.context["form"].fields["region"].choices)

    assert choices["330000"] == "浙江"
    assert choices["440000"] == "广东"


def test_search_by_level(client, tree):
    names = found(search(client, level=Level.GRASSROOTS))

    assert set(names) == {tree.union_a.name, tree.union_b.name, tree.union_c.name}


def test_search_criteria_combine(client, tree):
    assert set(found(search(client, region="330000", level=Level.GRASSROOTS))) == {
        tree.union_a.name,
        tree.union_b.name,
    }
    assert found(search(client, q="hz", level=Level.CITY)) == [tree.hz.name]
    assert found(search(client, q="杭州", region="440000")) == []


def test_results_are_in_tree_order(client, tree):
    names = found(search(client, region="330000"))

    assert names.index(tree.zj.name) < names.index(tree.hz.name) < names.index(tree.union_a.name)


def test_landing_page_runs_no_search_and_offers_regions_to_browse(client, tree):
    response = search(client)

    assert response.context["results"] is None
    html = response.content.decode()
    assert f'href="{DIRECTORY}?region=330000"' in html
    assert f'href="{DIRECTORY}?region=440000"' in html


def test_invalid_level_shows_an_error_and_no_results(client, tree):
    response = search(client, level="emperor")

    assert response.context["results"] is None
    assert response.context["form"].errors["level"]
    assert 'class="error"' in response.content.decode()


def test_no_match_shows_the_empty_state(client, tree):
    response = search(client, q="不存在的工会")

    assert found(response) == []
    html = response.content.decode()
    assert 'class="empty card"' in html
    assert 'class="results"' not in html


def test_dissolved_union_is_not_listed_and_its_page_is_404(client, tree):
    dissolve_organization(organization=tree.union_b)

    assert tree.union_b.name not in found(search(client, q="杭州"))
    assert tree.union_b.name not in found(search(client, level=Level.GRASSROOTS))
    response = client.get(tree.union_b.get_absolute_url())
    assert response.status_code == 404
    assert tree.union_b.name not in response.content.decode()
    # Nor is it listed under its parent.
    parent_page = client.get(tree.xihu.get_absolute_url()).content.decode()
    assert tree.union_a.name in parent_page
    assert tree.union_b.name not in parent_page


def test_unknown_union_is_404_with_the_site_page(client, tree):
    response = client.get(reverse("union-detail", args=[999_999_999]))

    assert response.status_code == 404
    assert '<meta charset="utf-8">' in response.content.decode()


# --------------------------------------------------------------------------- #
# Pagination
# --------------------------------------------------------------------------- #


def test_more_than_twenty_results_are_paginated(client, tree):
    add_unions(tree.xihu, 25)  # with hz, A and B: 28 unions contain 杭州

    first = search(client, q="杭州")
    second = search(client, q="杭州", page=2)

    assert first.context["results"].paginator.count == 28
    assert len(found(first)) == 20
    assert len(found(second)) == 8
    assert not set(found(first)) & set(found(second))
    html = first.content.decode()
    # The next-page link keeps the query: 杭州 URL-encoded.
    assert 'href="?q=%E6%9D%AD%E5%B7%9E&amp;page=2"' in html
    assert 'rel="prev"' not in html
    assert 'rel="prev"' in second.content.decode()


def test_page_link_does_not_repeat_the_page_parameter(client, tree):
    add_unions(tree.xihu, 45)

    html = search(client, q="杭州", page=2).content.decode()

    assert 'href="?q=%E6%9D%AD%E5%B7%9E&amp;page=3"' in html
    assert 'href="?q=%E6%9D%AD%E5%B7%9E&amp;page=1"' in html


def test_a_page_number_out_of_range_shows_the_last_page(client, tree):
    add_unions(tree.xihu, 25)

    assert len(found(search(client, q="杭州", page=99))) == 8
    assert len(found(search(client, q="杭州", page="x"))) == 20


# --------------------------------------------------------------------------- #
# A union's page
# --------------------------------------------------------------------------- #


def test_union_page_shows_the_chain_of_parent_federations_national_first(client, tree):
    response = client.get(tree.union_a.get_absolute_url())

    assert response.status_code == 200
    chain = [org.name for org in response.context["chain"]]
    assert chain == [tree.national.name, tree.zj.name, tree.hz.name, tree.xihu.name]
    html = response.content.decode()
    section = html[html.index('id="chain-heading"') :]
    positions = [section.index(name) for name in chain]
    assert positions == sorted(positions)
    assert section.index(tree.xihu.name) < section.index(tree.union_a.name)


def test_provincial_federation_chain_is_the_national_federation(client, tree):
    response = client.get(tree.gd.get_absolute_url())

    assert [org.name for org in response.context["chain"]] == [tree.national.name]


def test_national_federation_has_no_chain_and_lists_the_provinces(client, tree):
    response = client.get(tree.national.get_absolute_url())

    assert response.context["chain"] == []
    children = [org.name for org in response.context["children"]]
    assert set(children) == {tree.zj.name, tree.gd.name}


def test_union_page_lists_its_children(client, tree):
    response = client.get(tree.xihu.get_absolute_url())

    children = [org.name for org in response.context["children"]]
    assert set(children) == {tree.union_a.name, tree.union_b.name}
    html = response.content.decode()
    assert tree.union_a.get_absolute_url() in html
    assert tree.union_b.get_absolute_url() in html


def test_union_page_shows_public_facts(client, tree):
    html = client.get(tree.union_a.get_absolute_url()).content.decode()

    assert tree.union_a.uscc in html
    assert "西湖区" in html  # region name of 330106


def test_many_children_are_paginated_on_the_union_page(client, tree):
    add_unions(tree.xihu, 55, prefix="西湖测试")

    first = client.get(tree.xihu.get_absolute_url())
    second = client.get(tree.xihu.get_absolute_url(), {"page": 2})

    assert first.context["children"].paginator.count == 57
    assert len(first.context["children"]) == 50
    assert len(second.context["children"]) == 7
    assert 'href="?page=2"' in first.content.decode()


# --------------------------------------------------------------------------- #
# What every page declares
# --------------------------------------------------------------------------- #

ABSOLUTE_ASSET = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.mark.parametrize("page", ["directory", "search", "union"])
def test_pages_declare_utf8_and_language_and_use_no_external_assets(client, tree, page):
    url = {
        "directory": DIRECTORY,
        "search": f"{DIRECTORY}?q=hz",
        "union": tree.union_a.get_absolute_url(),
    }[page]

    response = client.get(url)

    html = response.content.decode()
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert '<meta charset="utf-8">' in html
    assert re.search(r'<html lang="[a-z-]+">', html)
    assert not ABSOLUTE_ASSET.search(html), ABSOLUTE_ASSET.search(html)
    assert "<script" not in html.lower()
    assert not re.search(r"\son[a-z]+\s*=", html, re.I), "inline event handler"


def test_stylesheet_loads_nothing_from_elsewhere():
    from django.conf import settings

    css = (settings.BASE_DIR / "static" / "css" / "site.css").read_text(encoding="utf-8")

    assert "http:" not in css
    assert "https:" not in css
    assert "@import" not in css


def test_every_form_field_has_a_label(client, tree):
    html = search(client, q="hz").content.decode()

    for field_id in ("id_q", "id_region", "id_level"):
        assert f'id="{field_id}"' in html
        assert f'<label for="{field_id}">' in html


# --------------------------------------------------------------------------- #
# Queries: constant, whatever the number of results or the depth of the tree
# --------------------------------------------------------------------------- #


def count_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_search_query_count_does_not_grow_with_the_number_of_results(
    client, tree, django_assert_max_num_queries
):
    few = count_queries(client, DIRECTORY, {"q": "杭州"})
    add_unions(tree.xihu, 30)

    with django_assert_max_num_queries(few):
        response = client.get(DIRECTORY, {"q": "杭州"})
    assert len(found(response)) == 20
    # The region choices, the count and the page of results.
    assert few <= 3


def test_search_query_count_for_a_logged_in_user_is_constant_too(
    client, tree, django_assert_max_num_queries
):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    few = count_queries(client, DIRECTORY, {"level": Level.GRASSROOTS})
    add_unions(tree.xihu, 30)

    with django_assert_max_num_queries(few):
        client.get(DIRECTORY, {"level": Level.GRASSROOTS})
    # + session, user, the unread count of the header badge and the user's grants (whether
    # the header links to the dashboard).
    assert few <= 7


def test_union_page_query_count_does_not_grow_with_depth(
    client, tree, django_assert_max_num_queries
):
    # Leaves: a grassroots union without groups, and a group two levels further down.
    grassroots = count_queries(client, tree.union_b.get_absolute_url())
    group = count_queries(client, tree.group_a.get_absolute_url())
    # With children: a provincial root, a county and a grassroots union.
    provincial = count_queries(client, tree.zj.get_absolute_url())
    county = count_queries(client, tree.xihu.get_absolute_url())
    grassroots_with_group = count_queries(client, tree.union_a.get_absolute_url())

    assert group == grassroots
    assert grassroots_with_group == county
    assert provincial <= county
    # The union, its ancestors, the national federation, the children's count and page.
    with django_assert_max_num_queries(5):
        client.get(tree.union_a.get_absolute_url())


def test_union_page_query_count_does_not_grow_with_the_number_of_children(client, tree):
    few = count_queries(client, tree.xihu.get_absolute_url())
    add_unions(tree.xihu, 30)

    assert count_queries(client, tree.xihu.get_absolute_url()) == few


# --------------------------------------------------------------------------- #
# Language
# --------------------------------------------------------------------------- #


def test_directory_is_served_in_chinese_by_default(client, db):
    html = client.get(DIRECTORY).content.decode()

    assert '<html lang="zh-hans">' in html
    # The switch offers the other language, named in that language.
    assert 'name="language" value="en"' in html


def test_language_switch_form_turns_the_site_to_english_and_back(client, db):
    response = client.post("/i18n/setlang/", {"language": "en", "next": DIRECTORY}, follow=True)

    assert response.redirect_chain[-1][0] == DIRECTORY
    assert '<html lang="en">' in response.content.decode()
    assert '<html lang="en">' in client.get(DIRECTORY).content.decode()

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": DIRECTORY})
    assert '<html lang="zh-hans">' in client.get(DIRECTORY).content.decode()


def test_language_switch_returns_to_the_page_it_was_used_on(client, tree):
    page = tree.union_a.get_absolute_url()
    html = client.get(page).content.decode()
    assert f'name="next" type="hidden" value="{page}"' in html

    response = client.post("/i18n/setlang/", {"language": "en", "next": page})

    assert response.status_code == 302
    assert response["Location"] == page


def test_language_switch_refuses_to_redirect_elsewhere(client, db):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "https://evil.example/"})

    assert response["Location"] == "/"


# --------------------------------------------------------------------------- #
# The other site pages share the same basics
# --------------------------------------------------------------------------- #


def test_server_error_page_renders_without_a_request():
    from django.template.loader import render_to_string
    from django.utils import translation

    with translation.override("en"):
        html = render_to_string("500.html")

    assert '<meta charset="utf-8">' in html
    assert '<html lang="en">' in html
    assert not ABSOLUTE_ASSET.search(html)


def test_login_page_has_labelled_fields(client, db):
    html = client.get(reverse("login")).content.decode()

    assert '<label for="id_username">' in html
    assert '<label for="id_password">' in html
    assert '<meta charset="utf-8">' in html


def test_pages_stay_chinese_for_an_english_browser_until_english_is_chosen(client, tree):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert 'lang="zh-hans"' in page.content.decode()
    client.cookies["django_language"] = "en"
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert 'lang="en"' in page.content.decode()


def test_initials_of_the_short_name_and_from_within_the_name_find_a_union(client, tree):
    yunfan = OrganizationFactory(
        name="杭州云帆科技有限公司工会委员会",
        short_name="云帆科技工会",
        level=Level.GRASSROOTS,
        parent=tree.xihu,
    )
    assert yunfan.name in found(search(client, q="yf"))  # 研发 of another is "yf" too
    assert found(search(client, q="yfkj")) == [yunfan.name]  # inside the full name's, and
    assert found(search(client, q="yfkjgh")) == [yunfan.name]  # the short name's whole
    assert found(search(client, q="yunfan")) == [yunfan.name]


def test_a_chinese_query_is_never_matched_by_its_initials(client, tree):
    """北京 and 滨江 are both "bj": a query in characters finds only what it spells."""
    binjiang = OrganizationFactory(name="滨江区总工会", level=Level.COUNTY, parent=tree.hz)
    assert found(search(client, q="北京")) == []
    assert found(search(client, q="滨江")) == [binjiang.name]
    assert binjiang.name in found(search(client, q="bj"))


def test_an_exact_name_comes_first(client, tree):
    OrganizationFactory(name="西湖区总工会机关工会", level=Level.GRASSROOTS, parent=tree.xihu)
    names = found(search(client, q="西湖区总工会"))
    assert names[0] == tree.xihu.name and len(names) == 2
    # The short name counts as the name.
    assert found(search(client, q="浙江"))[0] == tree.zj.name


_HAN_TEXT = "杭州云帆科技有限公司工会委员会滨江区北京深圳市宁波甲乙丙丁"


@pytest.mark.django_db
def test_search_rules_hold_for_any_query(tree):
    """Property (hypothesis): every union a query in characters finds spells the query in
    its name or short name; every union is found by any run of two or more letters of its
    initials, and by any run of its characters."""
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hsettings
    from hypothesis import strategies as st

    from organizations import selectors
    from organizations.validators import search_keys

    rng_names = ["杭州云帆科技有限公司工会", "滨江区总工会", "北京市总工会", "宁波甲乙有限公司工会"]
    unions = [
        OrganizationFactory(name=n, short_name=n[2:6], level=Level.GRASSROOTS, parent=tree.xihu)
        for n in rng_names
    ]
    every = [*unions, tree.hz, tree.xihu, tree.union_a, tree.union_b]

    @hsettings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.text(alphabet=_HAN_TEXT, min_size=1, max_size=4))
    def han_queries_spell_their_results(query):
        for org in selectors.directory(query=query):
            assert query in org.name or query in org.short_name, (query, org.name)

    @hsettings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(every), st.data())
    def every_union_is_found_by_its_parts(org, data):
        initials = search_keys(org.name, org.short_name)[1].split("|")
        part = data.draw(st.sampled_from(initials))
        start = data.draw(st.integers(0, len(part) - 2))
        end = data.draw(st.integers(start + 2, len(part)))
        assert org in selectors.directory(query=part[start:end].upper())
        start = data.draw(st.integers(0, len(org.name) - 1))
        end = data.draw(st.integers(start + 1, len(org.name)))
        assert org in selectors.directory(query=org.name[start:end])

    han_queries_spell_their_results()
    every_union_is_found_by_its_parts()
