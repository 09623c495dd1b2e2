"""Static files in production: collectstatic writes hashed, gzip-compressed copies, pages
link the hashed names, and WhiteNoise serves them compressed with a far-future cache header.

Runs in subprocesses with the production settings, as a deployment would."""

import json

from tests.test_settings import PRODUCTION, manage

PROBE = """
import json
from django.templatetags.static import static
from django.test import Client
url = static("css/site.css")
client = Client(HTTP_HOST="union.example.org")
zipped = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate", secure=True)
plain = client.get(url, secure=True)
page = client.get("/accounts/login/", secure=True)  # no database needed
print(json.dumps({
    "url": url,
    "status": zipped.status_code,
    "encoding": zipped.headers.get("Content-Encoding"),
    "vary": zipped.headers.get("Vary"),
    "cache": zipped.headers.get("Cache-Control"),
    "zipped_length": int(zipped.headers["Content-Length"]),
    "plain_encoding": plain.headers.get("Content-Encoding"),
    "plain_length": int(plain.headers["Content-Length"]),
    "page_links_hashed_css": url in page.content.decode(),
}))
"""


def test_production_static_files_are_hashed_compressed_and_cached(tmp_path):
    env = {**PRODUCTION, "STATIC_ROOT": str(tmp_path)}
    collected = manage("collectstatic", "--noinput", env_extra=env)
    assert collected.returncode == 0, collected.stdout + collected.stderr

    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    hashed = manifest["css/site.css"]
    assert hashed != "css/site.css" and (tmp_path / hashed).is_file()
    assert (tmp_path / f"{hashed}.gz").is_file()
    # The big local scripts (the chart library, the API docs) have their compressed copy;
    # WhiteNoise leaves out only files that compression would not shrink enough.
    scripts = [
        name
        for name in manifest.values()
        if name.endswith(".js") and (tmp_path / name).stat().st_size > 20_000
    ]
    assert any("echarts" in name for name in scripts)
    assert any("swagger" in name for name in scripts)
    assert all((tmp_path / f"{name}.gz").is_file() for name in scripts), scripts

    probe = manage("shell", "-c", PROBE, env_extra=env)
    assert probe.returncode == 0, probe.stdout + probe.stderr
    served = json.loads(probe.stdout.strip().splitlines()[-1])
    assert served["url"] == f"/static/{hashed}"
    assert served["status"] == 200
    assert served["encoding"] == "gzip"
    assert "Accept-Encoding" in served["vary"]
    assert "max-age=315360000" in served["cache"] and "immutable" in served["cache"]
    assert served["zipped_length"] < served["plain_length"] / 2
    assert served["plain_encoding"] is None
    assert served["page_links_hashed_css"]
