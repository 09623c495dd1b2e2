"""The union import on the embedded default database (SQLite), as `scripts/run.sh` runs it.

The suite runs on PostgreSQL; the import's bulk steps (COPY, array UPDATEs, advisory locks)
have SQLite paths of their own, which only this test exercises: a fresh SQLite database is
migrated in a subprocess, a file is imported with the command (new unions under existing
ones, then a change and a move), and the tree check passes.
"""

import os
import subprocess
import sys
from pathlib import Path

from core.spreadsheets import write_csv
from organizations.importing.columns import HEADERS
from tests.factories import make_uscc

ROOT = Path(__file__).resolve().parents[2]


def manage(tmp_path, *args):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'embedded.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def shell(tmp_path, code: str) -> str:
    return manage(tmp_path, "shell", "-c", code).strip().splitlines()[-1]


def csv_of(rows: list[dict], path: Path) -> Path:
    path.write_bytes(write_csv(HEADERS, [[r.get(h, "") for h in HEADERS] for r in rows]))
    return path


def test_import_and_reimport_with_a_move_on_sqlite(tmp_path):
    manage(tmp_path, "migrate", "--noinput")
    city = shell(
        tmp_path,
        "from organizations import actions\n"
        "def add(parent, name, level, region):\n"
        "    data = {'name': name, 'level': level, 'region_code': region}\n"
        "    return actions.create_organization(parent=parent, data=data)\n"
        "n = actions.create_national_federation(data={'name': '全总', 'level': 'national'})\n"
        "p = add(n, '浙江省总工会', 'provincial', '330000')\n"
        "c = add(p, '杭州市总工会', 'city', '330100')\n"
        "print(c.pk)",
    )
    codes = [make_uscc("330106") for _ in range(3)]
    rows = [
        {
            "编号": "X",
            "名称": "西湖区总工会",
            "上级工会编号": city,
            "级别": "县级总工会",
            "行政区划代码": "330106",
        },
        {
            "编号": "Y",
            "名称": "上城区总工会",
            "上级工会编号": city,
            "级别": "县级总工会",
            "行政区划代码": "330102",
        },
        *(
            {
                "名称": f"嵌入式测试{n}号工会",
                "统一社会信用代码": code,
                "上级工会编号": "X",
                "级别": "基层工会",
                "职工人数": "30",
            }
            for n, code in enumerate(codes)
        ),
        {"名称": "嵌入式测试小组", "上级工会统一社会信用代码": codes[0], "级别": "工会小组"},
    ]
    out = manage(tmp_path, "import_unions", str(csv_of(rows, tmp_path / "a.csv")), "--under", city)
    assert "6 created" in out
    rows[2]["职工人数"] = "45"  # changed
    rows[3]["上级工会编号"] = "Y"  # moved, with nothing else changed
    manage(tmp_path, "import_unions", str(csv_of(rows, tmp_path / "b.csv")), "--under", city)
    manage(tmp_path, "check_tree")
    state = shell(
        tmp_path,
        "from organizations.models import Organization as O\n"
        "from organizations import counters, rollups\n"
        f"u = O.objects.get(uscc='{codes[1]}')\n"
        "rollups.fold()\n"
        "print(O.objects.count(), u.parent.name, O.objects.get(uscc='"
        + codes[0]
        + "').employees, bool(counters.verify().wrong), bool(rollups.verify().wrong))",
    )
    assert state == "9 上城区总工会 45 False False"
    # The lookups of 100,000 codes go as one JSON parameter here (SQLite takes at most
    # 32,766 placeholders): what the import's lookup finds among 40,000 values.
    found = shell(
        tmp_path,
        "from core import bulk\n"
        "from organizations.models import Organization as O\n"
        "codes = [f'X{n}' for n in range(40_000)] + ['" + codes[2] + "']\n"
        "ids = list(range(10**6, 10**6 + 40_000)) + [O.objects.get(uscc=codes[-1]).pk]\n"
        "print(O.objects.filter(bulk.among('uscc', codes)).count(),"
        " O.objects.filter(bulk.among('pk', ids)).count())",
    )
    assert found == "1 1"
