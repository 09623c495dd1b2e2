"""The user guide: both languages linked from the README, the same pictures in both, and
every picture present in docs/screenshots (the browser tests write them)."""

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
GUIDES = {"zh": DOCS / "user-guide.zh.md", "en": DOCS / "user-guide.en.md"}
PICTURE = re.compile(r'src="(screenshots/[^"]+\.png)"')


def pictures(path: Path) -> list[str]:
    return PICTURE.findall(path.read_text(encoding="utf-8"))


def test_readme_links_both_guides():
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    assert "docs/user-guide.zh.md" in readme and "docs/user-guide.en.md" in readme


def test_both_guides_show_the_same_existing_pictures_of_phone_and_desktop():
    zh, en = pictures(GUIDES["zh"]), pictures(GUIDES["en"])
    assert len(zh) >= 40
    assert zh == en
    missing = [name for name in zh if not (DOCS / name).is_file()]
    assert missing == []
    assert any(name.endswith("-phone.png") for name in zh)
    assert any(name.endswith("-desktop.png") for name in zh)


def test_every_guide_picture_has_a_description_and_no_placeholder_is_left():
    for path in GUIDES.values():
        text = path.read_text(encoding="utf-8")
        assert "OFFICER_SECTIONS" not in text
        for tag in re.findall(r"<img [^>]*>", text):
            assert re.search(r'alt="[^"]+"', tag), tag


def test_every_run_lists_the_slowest_tests_the_readme_promises(pytestconfig):
    # pytest.ini's own addopts, not the command line's: a developer's --durations=0 does not count.
    addopts = pytestconfig.getini("addopts")
    assert "--durations=30" in addopts
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    assert "the 30 slowest tests (`--durations=30` in `pytest.ini`)" in readme


def test_the_readme_counts_the_patterns_the_isolation_matrix_exempts():
    from tests.security.test_isolation_matrix import EXEMPT

    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    stated = re.findall(r"every pattern but (\d+) exempt ones", readme)
    assert stated == [str(len(EXEMPT))], f"README says {stated}, EXEMPT has {len(EXEMPT)}"
