"""The production topology on one machine, as an operator starts it: `scripts/trial.sh`
runs PostgreSQL, Redis, gunicorn, a Celery worker and Celery beat under honcho with the
production settings. The test starts it on free ports in a fresh directory, waits for
`/healthz/`, and runs one journey through every process in Chromium: a worker applies to
join a union (gunicorn, PostgreSQL, CSRF and secure cookies), and a provincial officer builds
a statistics report that the Celery worker makes (Redis) and downloads it. Then it reads the
metrics, the JSON logs (no personal data in them) and stops everything with Ctrl-C.
"""

import gzip
import io
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.servers import _free_port as free_port
from tests.test_browser import DESKTOP, axe_serious, browser  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent
PG_BINDIR = Path(os.environ.get("UNIONHUB_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
STARTUP_TIMEOUT = 240

SETUP = """
from django.contrib.auth import get_user_model
from organizations import actions
from organizations.models import Level
def under(parent, name, level, region):
    data = {"name": name, "level": level, "region_code": region}
    return actions.create_organization(parent=parent, data=data)
national = actions.create_national_federation(data={"name": "中华全国总工会"})
zj = under(national, "浙江省总工会", Level.PROVINCIAL, "330000")
hz = under(zj, "杭州市总工会", Level.CITY, "330100")
xihu = under(hz, "西湖区总工会", Level.COUNTY, "330106")
union = actions.create_organization(parent=xihu, data={
    "name": "杭州试运行科技有限公司工会", "level": Level.GRASSROOTS,
    "region_code": "330106", "uscc": "%(uscc)s",
})
viewer = get_user_model().objects.create_user(username="zj_viewer", password="Pass-word-123")
actions.grant_role(user=viewer, organization=zj, role="viewer")
print("UNION", union.pk)
"""


def get(url, headers=None, timeout=5):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def read_env(path: Path) -> dict:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k: v for k, v in pairs if not k.startswith("#")}


@pytest.fixture
def trial():
    missing = [p for p in (PG_BINDIR / "postgres", Path("/usr/bin/redis-server")) if not p.exists()]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"missing for the topology test: {missing}")
        pytest.skip(f"missing: {missing}")
    # The postgres OS user must reach its data directory: not under root's private tmp.
    directory = Path(tempfile.mkdtemp(prefix="unionhub-trial-", dir="/tmp"))
    directory.chmod(0o755)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "UNIONHUB_"))},
        "TRIAL_DIR": str(directory / "site"),
        "PORT": str(free_port()),
        "PGPORT": str(free_port()),
        "REDIS_PORT": str(free_port()),
        "PG_BINDIR": str(PG_BINDIR),
        "WORKER_CONCURRENCY": "1",
        "WEB_CONCURRENCY": "2",
        "WORKER_HEARTBEAT_SECONDS": "2",
    }
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "SECRET_KEY"):
        env.pop(name, None)
    log = (directory / "honcho.log").open("w")
    process = subprocess.Popen(
        ["scripts/trial.sh"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    site = type("Trial", (), {})()
    site.base, site.env, site.process, site.log = base, env, process, directory / "honcho.log"

    def manage(*args):
        return subprocess.run(
            ["scripts/trial.sh", "manage", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout

    site.manage = manage
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        health = None
        while time.monotonic() < deadline:
            assert process.poll() is None, site.log.read_text()[-4000:]
            try:
                status, _headers, body = get(base + "/healthz/", timeout=2)
            except OSError:
                time.sleep(1)
                continue
            health = json.loads(body)
            if status == 200:
                break
            time.sleep(1)
        else:
            pytest.fail(f"not healthy in time: {health}\n{site.log.read_text()[-4000:]}")
        site.health = health
        yield site
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C, as an operator stops it
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()
        site.exit_code = process.returncode
        shutil.rmtree(directory / "site", ignore_errors=True)


def test_the_trial_topology_serves_a_journey_through_every_process(trial, browser):  # noqa: F811
    from tests.factories import make_id_number, make_uscc

    # Health: every part answers, a worker has a fresh heartbeat.
    checks = trial.health["checks"]
    assert checks["database"]["ok"] and checks["redis"]["ok"]
    assert checks["workers"]["workers"] == 1

    union_pk = int(trial.manage("shell", "-c", SETUP % {"uscc": make_uscc("330106")}).split()[-1])

    # Static files from WhiteNoise through gunicorn: hashed names, gzip, cached for ever.
    status, _headers, page = get(trial.base + "/")
    assert status == 200
    css = next(
        part.split('"')[0]
        for part in page.decode().split('href="')[1:]
        if part.startswith("/static/") and ".css" in part.split('"')[0]
    )
    status, headers, body = get(trial.base + css, {"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert "immutable" in headers.get("Cache-Control", "")
    assert gzip.decompress(body)

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)

    # A worker applies to join (production settings: CSRF, secure cookies on 127.0.0.1).
    name, id_number, phone = "周试运", make_id_number(born="19910304"), "13855550123"
    page.goto(trial.base + f"/unions/{union_pk}/join/")
    page.get_by_label("姓名", exact=True).fill(name)
    page.get_by_label("居民身份证号码", exact=True).fill(id_number)
    page.get_by_label("手机号", exact=True).fill(phone)
    page.get_by_label("民族", exact=True).select_option("01")
    page.get_by_label("学历", exact=False).first.select_option("bachelor")
    page.get_by_label("工作单位", exact=True).fill("杭州试运行科技有限公司")
    page.get_by_label("职务/岗位", exact=False).first.fill("工程师")
    page.get_by_label("用工形式", exact=True).select_option("full_time")
    page.get_by_label("会员账号密码").fill("Gong-hui-2026!")
    page.get_by_label("再次输入密码").fill("Gong-hui-2026!")
    page.get_by_label("我已阅读并同意上面的个人信息处理告知。").check()
    page.get_by_label("我单独同意为办理会籍处理我的敏感个人信息").check()
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url("**/join/status/**")
    assert axe_serious(page) == []

    # A provincial officer builds a report: the Celery worker makes it, through Redis.
    page.goto(trial.base + "/accounts/login/?next=/reports/")
    page.get_by_label("用户名").fill("zj_viewer")
    page.get_by_label("密码", exact=True).fill("Pass-word-123")
    page.locator("main").get_by_role("button", name="登录").click()
    page.wait_for_url("**/reports/**")
    page.get_by_role("button", name="生成报表").click()
    link = page.get_by_role("link", name="下载 Excel")
    link.wait_for(timeout=60_000)
    with page.expect_download() as download:
        link.click()
    workbook = load_workbook(io.BytesIO(download.value.path().read_bytes()), read_only=True)
    cells = [c for s in workbook.worksheets for r in s.iter_rows(values_only=True) for c in r]
    assert "浙江省总工会" in " ".join(str(c) for c in cells if c is not None)
    context.close()

    # Metrics: for the token's bearer, counting the requests just made.
    token = read_env(Path(trial.env["TRIAL_DIR"]) / "env")["METRICS_TOKEN"]
    status, _headers, body = get(trial.base + "/metrics", {"Authorization": f"Bearer {token}"})
    assert status == 200
    metrics = body.decode()
    assert "django_http_requests_total_by_view_transport_method_total" in metrics
    assert 'view="reports:list"' in metrics
    status, _headers, _body = get(trial.base + "/metrics", {"Authorization": "Bearer wrong"})
    assert status == 403

    # Logs: the web and worker lines are JSON objects; no personal data anywhere.
    time.sleep(1)
    lines = trial.log.read_text(encoding="utf-8").splitlines()
    records, worker_records = [], []
    for line in lines:
        _prefix, _bar, rest = line.partition("| ")
        if " web.1 " in line and rest.startswith("{"):
            records.append(json.loads(rest))
        if " worker.1 " in line and rest.startswith("{"):
            worker_records.append(json.loads(rest))
    paths = {r.get("path") for r in records if r.get("logger") == "gunicorn.access"}
    assert f"/unions/{union_pk}/join/" in paths
    assert "/reports/new/" in paths
    assert any(r.get("logger", "").startswith("django") or "level" in r for r in records)
    text = "\n".join(lines)
    for secret in (name, id_number, phone, "Gong-hui-2026!", "Pass-word-123"):
        assert secret not in text
    assert any("reports.tasks.build_report_task" in r["message"] for r in worker_records)
