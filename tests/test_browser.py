"""A worker's journey through the directory in a real browser, on a phone and a desktop.

Uses Debian's Chromium (TESTING.md): `playwright install` cannot download browsers here.
Outside CI a missing browser skips these tests; in CI (`CI` set) it fails them.
`UNIONHUB_CHROMIUM` points at another Chromium binary.
"""

import os
import subprocess
import weakref
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import pytest
from django.conf import settings


@pytest.fixture(scope="module", autouse=True)
def allow_orm_beside_playwright():
    # Playwright's sync API runs an event loop in this thread; Django would otherwise refuse
    # the ORM calls that the fixtures make from it. Only for this module, then restored.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


CHROMIUM = os.environ.get("UNIONHUB_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def _missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _missing_browser()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"Browser tests must run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def open_page(browser, live_server, viewport, *, is_mobile=False):
    """A fresh context (no cookies) whose every request is checked against the live server,
    and whose every Content-Security-Policy violation is reported in the same list."""
    context = browser.new_context(
        viewport=viewport,
        is_mobile=is_mobile,
        has_touch=is_mobile,
        device_scale_factor=2 if is_mobile else 1,
        locale="zh-CN",
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    ours = urlsplit(live_server.url).netloc
    foreign = []

    def check(request):
        url = urlsplit(request.url)
        if url.scheme in {"data", "blob", "about"}:
            return
        if url.netloc != ours:
            foreign.append(request.url)

    def csp_violation(message):
        # Chromium reports what the Content-Security-Policy blocked on the console.
        if "Content Security Policy" in message.text:
            foreign.append(f"CSP on {page.url}: {message.text}")

    page.on("request", check)
    page.on("console", csp_violation)
    _REPORTS[page] = foreign
    return page, foreign


# The report list of each page opened by open_page, so that axe_serious can drop what
# axe-core itself makes the CSP report (it adds inline styles while it measures).
_REPORTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


AXE = Path(__file__).parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"


def axe_serious(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now.

    axe-core comes from npm (tests/browser/package.json, installed by scripts/test.sh). It
    is evaluated through the DevTools protocol, which the page's CSP does not govern, so
    the site's policy stays as strict as in production.
    """
    if not AXE.exists():
        message = f"axe-core is not installed ({AXE}); run npm ci --prefix tests/browser"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    reports = _REPORTS.get(page, [])
    before = len(reports)
    page.evaluate(AXE.read_text(encoding="utf-8"))
    violations = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => ({id: v.id, impact: v.impact, help: v.help,
                            nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
        }"""
    )
    page.evaluate("() => new Promise(requestAnimationFrame)")  # let the console catch up
    reports[before:] = [r for r in reports[before:] if not r.startswith("CSP on ")]
    return violations


def search_for_hangzhou(page, live_server):
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    search_box = page.get_by_role("searchbox")
    search_box.fill("hz")
    search_box.press("Enter")
    page.wait_for_url("**/?q=hz*")
    results = page.locator("ul.results")
    results.get_by_role("link", name="杭州市总工会").wait_for()
    return results


# Draws each character of `text` on a canvas in the page's own font stack (with the
# browser's fallback fonts behind it) and compares the pixels with the box (.notdef) drawn
# for U+10FFFD, a private-use code point no font has a glyph for. Without a font for the
# text every character comes out as that same box; with one, each is a glyph of its own.
_DRAWS_GLYPHS = """(text) => {
    const family = getComputedStyle(document.body).fontFamily;
    const size = 48;
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 2 * size;
    const ctx = canvas.getContext("2d", {willReadFrequently: true});
    ctx.font = `${size}px ${family}`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    const draw = (character) => {
        ctx.clearRect(0, 0, canvas.width, canvas.height);
        ctx.fillText(character, size, size);
        const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        return pixels.filter((_, i) => i % 4 === 3).join(",");
    };
    const box = draw(String.fromCodePoint(0x10FFFD));
    const blank = draw(" ");
    const drawn = Array.from(text, draw);
    return drawn.every(d => d !== box && d !== blank) && new Set(drawn).size === drawn.length;
}"""


def fonts_render_chinese(page) -> bool:
    """True when the page draws Chinese in a real font, not as boxes (a CJK font is there)."""
    return page.evaluate(_DRAWS_GLYPHS, "杭州")


@pytest.mark.django_db(transaction=True)
def test_worker_finds_their_union_on_a_phone(browser, live_server, tree):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page, foreign = open_page(browser, live_server, PHONE, is_mobile=True)

    results = search_for_hangzhou(page, live_server)
    assert results.get_by_role("link", name=tree.union_a.name).is_visible()
    assert not results.get_by_role("link", name=tree.union_c.name).count()
    # Nothing wider than the phone: no sideways scrolling.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert fonts_render_chinese(page)
    assert axe_serious(page) == []
    page.screenshot(path=SCREENSHOTS / "directory-phone.png", full_page=True)

    results.get_by_role("link", name="杭州市总工会").click()
    page.wait_for_url(f"**{tree.hz.get_absolute_url()}")
    assert page.get_by_role("heading", level=1).inner_text() == "杭州市总工会"
    chain = page.locator("ol.chain > li")
    assert chain.nth(0).get_by_role("link").inner_text() == "中华全国总工会"
    assert chain.nth(1).get_by_role("link").inner_text() == "浙江省总工会"
    assert page.locator("ul.children").get_by_role("link", name="西湖区总工会").is_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert axe_serious(page) == []
    page.screenshot(path=SCREENSHOTS / "union-phone.png", full_page=True)

    page.get_by_role("button", name="English").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert page.url.endswith(tree.hz.get_absolute_url())
    assert page.get_by_role("button", name="简体中文").is_visible()

    page.context.close()
    assert foreign == [], f"requests left the site: {foreign}"


@pytest.mark.django_db(transaction=True)
def test_worker_finds_their_union_on_a_desktop(browser, live_server, tree):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page, foreign = open_page(browser, live_server, DESKTOP)

    results = search_for_hangzhou(page, live_server)
    assert axe_serious(page) == []
    page.screenshot(path=SCREENSHOTS / "directory-desktop.png", full_page=True)

    results.get_by_role("link", name="杭州市总工会").click()
    page.wait_for_url(f"**{tree.hz.get_absolute_url()}")
    chain = page.locator("ol.chain > li")
    assert chain.nth(0).get_by_role("link").inner_text() == "中华全国总工会"

    page.get_by_role("button", name="English").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")

    page.context.close()
    assert foreign == [], f"requests left the site: {foreign}"


@pytest.mark.django_db(transaction=True)
def test_search_form_is_usable_with_the_keyboard_alone(browser, live_server, tree):
    page, foreign = open_page(browser, live_server, DESKTOP)
    page.goto(live_server.url + "/")

    # The first Tab reaches the skip link, which moves the focus to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    # Tab on to the search box, type, choose a level with the keyboard and submit.
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "id_q":
            break
    assert page.evaluate("() => document.activeElement.id") == "id_q"
    page.keyboard.type("杭州")
    page.keyboard.press("Tab")  # region
    page.keyboard.press("Tab")  # level
    assert page.evaluate("() => document.activeElement.id") == "id_level"
    page.locator("#id_level").select_option("grassroots")
    page.keyboard.press("Tab")  # the search button
    page.keyboard.press("Enter")
    page.wait_for_url("**level=grassroots*")

    names = page.locator("ul.results .result-link").all_inner_texts()
    assert sorted(names) == sorted([tree.union_a.name, tree.union_b.name])
    page.context.close()
    assert foreign == []


def fontconfig_without_chinese(directory: Path) -> Path:
    """A fontconfig file offering every installed font except those that draw 杭 or 州."""
    chinese = set()
    for code_point in ("676d", "5dde"):  # 杭, 州
        listed = subprocess.run(
            ["fc-list", f":charset={code_point}", "--format", "%{file}\n"],
            capture_output=True,
            text=True,
            check=True,
        )
        chinese |= set(listed.stdout.split())
    rejected = "".join(f"<glob>{escape(path)}</glob>" for path in sorted(chinese))
    config = directory / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <selectfont><rejectfont>{rejected}</rejectfont></selectfont>\n"
        "</fontconfig>\n",
        encoding="utf-8",
    )
    return config


@pytest.mark.django_db(transaction=True)
def test_the_chinese_font_check_fails_where_no_font_has_the_characters(
    browser, live_server, tree, tmp_path
):
    """The check behind every `fonts_render_chinese` assertion can fail: the same site page
    in a Chromium whose fontconfig hides the CJK fonts draws boxes, and the check says so."""
    page, _foreign = open_page(browser, live_server, DESKTOP)
    search_for_hangzhou(page, live_server)
    assert fonts_render_chinese(page)
    page.context.close()

    bare = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=LAUNCH_ARGS,
        env={**os.environ, "FONTCONFIG_FILE": str(fontconfig_without_chinese(tmp_path))},
    )
    try:
        page, _foreign = open_page(bare, live_server, DESKTOP)
        search_for_hangzhou(page, live_server)
        assert not fonts_render_chinese(page)
    finally:
        bare.close()


def test_axe_finds_what_it_should(browser):
    """The accessibility check itself works: an image without text and an unlabeled
    field are reported as critical."""
    page = browser.new_page()
    page.set_content('<html lang="zh"><main><img src="x.png"><input type="text"></main></html>')
    found = {v["id"] for v in axe_serious(page)}
    page.close()
    assert {"image-alt", "label"} <= found
