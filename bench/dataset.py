"""Province-size dataset for the statistics benchmarks: 100,000 unions, 10,000,000 members.

Builds, on PostgreSQL, in a database of its own named after its size:

- the national federation (through `organizations.actions`, as the app creates it);
- one province of N unions (default 100,000) in Zhejiang's real shape: its 11 cities and 90
  current counties (names and GB/T 2260 codes from python-stdnum's table), 8 to 25 townships
  or subdistricts per county, grassroots unions mostly under townships (some directly under
  a county or city, as 县直/市直 units), 3 % of them with union groups; a few dissolved;
- a second, small province (Ningxia's cities and counties, N/50 unions);
- two national industry unions (level "industry", parent the national federation, each the
  root of its own tree with ten grassroots unions), and about 10 % of the big province's
  grassroots unions affiliated to one of them (`Organization.industry`);
- employee numbers on grassroots unions (membership rates of 70-100 %);
- M members (default 10,000,000) spread over the grassroots unions with log-normal sizes
  (median about 40, a few above 10,000), loaded with COPY; retained memberships are parked
  at the union's township federation, as `keeps_retained_members` allows.

Nested-set fields (lft, rght, tree_id, depth) are computed here; provinces and industry
unions are roots of their own MPTT tree (`tree_parent` NULL, `parent` the national
federation), as `organizations.models` requires. Members' counters are then computed from
the rows with INSERT ... SELECT ... GROUP BY (the same figures as
`members.counters.count_member_counters`), the tree's own counters likewise
(`organizations.counters.count_organization_counters`), and `organizations.rollups.rebuild()`
computes the subtree roll-ups. Nothing is done row by row in Python after the COPY.

The PostgreSQL cluster lives in --data-dir (default /work/bench-data/pg) and survives the run:
a later run, or `bench/stats_totals.py`, reuses a complete dataset of the same size instead
of loading it again (each size has its own database; a finished build writes its
description into the database's comment, so an interrupted build is rebuilt).

Usage:
  .venv/bin/python bench/dataset.py [--unions 100000] [--members 10000000] [--rebuild]
  .venv/bin/python bench/dataset.py --self-check     # small build + rollups.verify()
  .venv/bin/python bench/dataset.py --recount        # counters and roll-ups again, same rows
Set DATABASE_URL to load into an existing, empty database instead (nothing is kept then).
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import datetime
import hashlib
import hmac
import itertools
import json
import math
import multiprocessing
import os
import pwd
import random
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATA_DIR = Path("/work/bench-data/pg")
PROVINCE = ("浙江省总工会", "33")
OTHER_PROVINCE = ("宁夏回族自治区总工会", "64")
INDUSTRIES = ("中国机械冶金建材工会", "中国财贸轻纺烟草工会")
INDUSTRY_SHARE = 0.10  # of the big province's grassroots unions
MEMBER_CHUNK = 20_000  # rows per COPY write

# Server settings for a bulk-loading benchmark machine. Durability is off as in the test
# suite (a crash of the machine may corrupt the cluster: rebuild with --rebuild);
# wal_level=minimal lets a COPY into a table truncated in the same transaction skip the WAL.
SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1",
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    "-c wal_level=minimal",
    "-c max_wal_senders=0",
    "-c max_wal_size=20GB",
    "-c checkpoint_timeout=1h",
    "-c shared_buffers=4GB",
    "-c max_connections=200",
)
# Only for this loader's own session (the app's queries run with the server defaults).
LOAD_SESSION = ("SET maintenance_work_mem = '2GB'", "SET work_mem = '256MB'")


# --------------------------------------------------------------------------------------- #
# The PostgreSQL cluster kept between runs
# --------------------------------------------------------------------------------------- #


class Cluster:
    """A PostgreSQL cluster in `path` (initdb on first use), started on a free port."""

    def __init__(self, path: Path):
        from tests.servers import _as_postgres, _pg_bindir

        self.path = path
        self.data = path / "data"
        self.log = path / "postgres.log"
        self.bindir = _pg_bindir()
        self.prefix = _as_postgres()
        self.port: int | None = None
        self.started_here = False

    def _tool(self, tool: str, *args: str) -> None:
        from tests.servers import _run

        _run([*self.prefix, str(self.bindir / tool), *args], f"{tool}", cwd=self.path)

    def start(self) -> None:
        from tests.servers import PG_SUPERUSER, _free_port, _pid_alive

        self.path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # PostgreSQL refuses root: the postgres user owns the cluster
            pw = pwd.getpwnam(PG_SUPERUSER)
            os.chown(self.path, pw.pw_uid, pw.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            self._tool(
                "initdb",
                *("-D", str(self.data), "-U", PG_SUPERUSER, "-A", "trust", "-E", "UTF8"),
                *("-N", "--locale=C.UTF-8"),
            )
        pidfile = self.data / "postmaster.pid"
        if pidfile.exists():
            lines = pidfile.read_text().splitlines()
            if len(lines) > 3 and _pid_alive(int(lines[0])):
                self.port = int(lines[3])  # left running by --keep-running: reuse it
                return
        self.port = _free_port()
        options = " ".join([f"-p {self.port}", f"-k {self.path}", *SERVER_OPTIONS])
        self._tool(
            "pg_ctl", *("-D", str(self.data), "-l", str(self.log), "-o", options), "-w", "start"
        )
        self.started_here = True

    def stop(self) -> None:
        from tests.servers import stop_server

        if self.started_here:
            stop_server(self.path, self.prefix, self.bindir)
            self.started_here = False

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def admin(self):
        import psycopg

        return psycopg.connect(self.url("postgres"), autocommit=True)


def database_name(unions: int, members: int, seed: int) -> str:
    return f"bench_u{unions}_m{members}_s{seed}"


def read_description(conn) -> dict | None:
    """The description a finished build left in the database comment, or None."""
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database"
        " WHERE datname = current_database()"
    ).fetchone()
    try:
        info = json.loads(row[0]) if row and row[0] else None
    except ValueError:
        return None
    return info if isinstance(info, dict) and info.get("complete") else None


def open_database(cluster: Cluster | None, name: str, *, rebuild: bool) -> tuple[str, bool]:
    """Point DATABASE_URL at the dataset's database; returns (url, whether it is complete)."""
    import psycopg

    if cluster is None:
        url = os.environ["DATABASE_URL"]
        with psycopg.connect(url) as conn:
            return url, read_description(conn) is not None and not rebuild
    url = cluster.url(name)
    with cluster.admin() as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        complete = False
        if exists:
            with psycopg.connect(url) as conn:
                complete = read_description(conn) is not None
        if exists and (rebuild or not complete):
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    return url, complete and not rebuild


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unionhub.settings")
    os.environ.setdefault("DEBUG", "false")  # no query log in connection.queries
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.pop("CELERY_BROKER_URL", None)  # eager tasks: no Redis needed
    import logging

    import django

    django.setup()
    # Eager Celery still builds a broker connection object and warns about its hostname.
    logging.getLogger("kombu.connection").setLevel(logging.ERROR)


# --------------------------------------------------------------------------------------- #
# Timing
# --------------------------------------------------------------------------------------- #


class Phases:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str):
        print(f"  {name} ...", end="", flush=True)
        start = time.perf_counter()
        yield
        took = time.perf_counter() - start
        self.seconds[name] = round(self.seconds.get(name, 0) + took, 2)
        print(f" {took:.1f} s", flush=True)


# --------------------------------------------------------------------------------------- #
# Regions (GB/T 2260, from python-stdnum's table)
# --------------------------------------------------------------------------------------- #


@dataclass
class Region:
    code: str
    name: str
    counties: list[tuple[str, str]] = field(default_factory=list)  # (code, name)


def current_regions(province: str) -> list[Region]:
    """The province's current prefecture-level cities and their current counties."""
    import stdnum

    text = (Path(stdnum.__file__).parent / "cn" / "loc.dat").read_text(encoding="utf-8")
    cities: dict[str, Region] = {}
    inside = False
    for line in text.splitlines():
        if not line.startswith(" "):
            inside = line.startswith(f"{province} ")
            continue
        if not inside:
            continue
        match = re.match(r'\s+(\d{4}) county="(.*)"', line)
        if not match:
            continue
        suffix, names = match.groups()
        last = names.split(",")[-1]
        period = re.match(r"\[(\d*)-(\d*)\](.*)", last)
        if period and period.group(2):
            continue  # abolished
        name = period.group(3) if period else last
        code = province + suffix
        if suffix == "0000" or name in ("市辖区", "县", "省直辖县级行政区划"):
            continue
        if suffix.endswith("00"):
            cities[suffix[:2]] = Region(code, name)
        elif suffix[:2] in cities:
            cities[suffix[:2]].counties.append((code, name))
    return [c for c in cities.values() if c.counties]


def id_regions() -> tuple[list[str], list[float]]:
    """County codes for members' ID numbers: three quarters born in Zhejiang, the rest in
    the provinces most migrant workers come from."""
    codes, weights = [], []
    for province, share in (("33", 0.75), ("34", 0.07), ("36", 0.05), ("41", 0.05),
                            ("51", 0.04), ("52", 0.04)):  # fmt: skip
        counties = [c for r in current_regions(province) for c, _ in r.counties]
        codes += counties
        weights += [share / len(counties)] * len(counties)
    return codes, weights


# --------------------------------------------------------------------------------------- #
# The union tree
# --------------------------------------------------------------------------------------- #

TOWN_A = "东西南北新古临长青白金石龙凤桥湖山江河溪安平兴和福"
TOWN_B = ["城", "塘", "桥", "湾", "浦", "岭", "门", "港", "埠", "林", "墩", "坞", "洋", "田"]
BRAND_A = "华恒永信泰昌盛达宏伟鑫源润丰瑞嘉晨光明远天正海川中锦"
TRADES = ["科技", "纺织", "机械", "电子", "化工", "物流", "建设", "食品", "服饰", "汽配"]
TRADES += ["电器", "医药", "印染", "五金", "家具", "包装", "新材料", "网络"]
FORMS = ["有限公司", "股份有限公司", "集团有限公司", "有限责任公司"]
PUBLIC = ["第一人民医院", "中医院", "实验中学", "第二小学", "职业技术学校", "供电公司"]


@dataclass
class Union:
    """One organization row, in tree order, with what the member load needs."""

    pk: int
    level: str
    name: str
    parent: Union | None
    tree_parent: Union | None
    tree_id: int
    depth: int
    lft: int
    rght: int = 0
    region_code: str = ""
    status: str = "active"
    industry_id: int | None = None
    employees: int | None = None
    keeps_retained: bool = False
    dues_share: str = "0"
    founded_on: datetime.date | None = None
    weight: float = 0.0  # relative member count (grassroots unions)
    members: int = 0
    township: Union | None = None  # where retained memberships are parked


class TreeBuilder:
    """Lays out trees in nested-set order; primary keys are allocated in that order."""

    def __init__(self, next_pk: int, next_tree: int, rng: random.Random):
        self.next_pk = next_pk
        self.next_tree = next_tree
        self.rng = rng
        self.rows: list[Union] = []

    def tree(self, level, name, national_pk: int, **extra) -> Union:
        """A new tree root whose logical parent is the national federation."""
        tree_id = self.next_tree
        self.next_tree += 1
        self.counter = 0
        root = self._node(level, name, None, tree_id, **extra)
        root.parent = _National(national_pk)
        return root

    def _node(self, level, name, parent, tree_id=None, **extra) -> Union:
        self.counter += 1
        org = Union(
            pk=self.next_pk,
            level=level,
            name=name,
            parent=parent,
            tree_parent=parent,
            tree_id=parent.tree_id if parent else tree_id,
            depth=parent.depth + 1 if parent else 0,
            lft=self.counter,
            **extra,
        )
        self.next_pk += 1
        self.rows.append(org)
        return org

    def child(self, parent: Union, level: str, name: str, **extra) -> Union:
        return self._node(level, name, parent, **extra)

    def close(self, org: Union) -> Union:
        self.counter += 1
        org.rght = self.counter
        return org

    def grassroots(self, parent: Union, name: str, township: Union | None, groups: int):
        rng = self.rng
        status = "dissolved" if rng.random() < 0.005 else "active"
        org = self.child(
            parent,
            "grassroots",
            name,
            region_code=parent.region_code,
            status=status,
            founded_on=datetime.date(1985, 1, 1) + datetime.timedelta(days=rng.randrange(14_000)),
            weight=rng.lognormvariate(0, 1.25) if status == "active" else 0.0,
            township=township,
        )
        for g in range(groups):
            self.close(self.child(org, "group", f"{name[:-2]}第{g + 1}工会小组", status=status))
        return self.close(org)


@dataclass
class _National:
    pk: int


def company_name(rng: random.Random, place: str) -> str:
    roll = rng.random()
    if roll < 0.80:
        brand = rng.choice(BRAND_A) + rng.choice(BRAND_A)
        return f"{place}{brand}{rng.choice(TRADES)}{rng.choice(FORMS)}工会"
    if roll < 0.90:
        return f"{place}{rng.choice(PUBLIC)}工会"
    return f"{place}{rng.choice(BRAND_A)}{rng.choice(TRADES)}行业联合工会"


def build_province(
    builder: TreeBuilder, national_pk: int, name: str, province: str, unions: int
) -> Union:
    """One province of about `unions` organizations, laid out in nested-set order."""
    rng = builder.rng
    cities = current_regions(province)
    scale = min(1.0, unions / 100_000)
    keep = min(1.0, unions / 20_000)
    counties = {c.code: c.counties[: max(1, math.ceil(len(c.counties) * keep))] for c in cities}
    towns = {
        code: max(1, round(rng.uniform(8, 25) * scale))
        for city in cities
        for code, _ in counties[city.code]
    }
    admin = 1 + len(cities) + len(towns) + sum(towns.values())
    rest = max(len(towns), unions - admin)
    groups_total = int(rest * 0.03)
    grassroots_total = rest - groups_total
    # Where grassroots unions hang: 1 % under cities, 3 % under counties, the rest under
    # townships, spread log-normally (urban subdistricts hold many).
    slots = [("city", c.code) for c in cities] + [("county", code) for code in towns]
    slots += [("town", code, t) for code in towns for t in range(towns[code])]
    weights = [
        0.01 / len(cities) if s[0] == "city" else
        0.03 / len(towns) if s[0] == "county" else
        0.96 * rng.lognormvariate(0, 0.8) / sum(towns.values())
        for s in slots
    ]  # fmt: skip
    per_slot = dict.fromkeys(slots, 0)
    for slot in rng.choices(slots, weights, k=grassroots_total):
        per_slot[slot] += 1
    with_groups = set(rng.sample(range(grassroots_total), min(grassroots_total, groups_total // 5)))
    serial = itertools.count()

    def grassroots_under(parent: Union, slot, place: str, township: Union | None):
        for _ in range(per_slot[slot]):
            n = next(serial)
            groups = rng.randint(2, 8) if n in with_groups else 0
            builder.grassroots(parent, company_name(rng, place), township, groups)

    root = builder.tree(
        "provincial", name, national_pk, region_code=f"{province}0000", dues_share="10"
    )
    for city in cities:
        c = builder.child(root, "city", f"{city.name}总工会", region_code=city.code)
        c.dues_share = "10"
        for code, county_name in counties[city.code]:
            k = builder.child(c, "county", f"{city.name}{county_name}总工会", region_code=code)
            k.dues_share = "10"
            for t in range(towns[code]):
                town_name = rng.choice(TOWN_A) + rng.choice(TOWN_B)
                kind = "街道" if county_name.endswith("区") else rng.choice(["镇", "乡", "街道"])
                town = builder.child(
                    k, "township", f"{county_name}{town_name}{kind}总工会", region_code=code
                )
                town.keeps_retained, town.dues_share = True, "5"
                grassroots_under(town, ("town", code, t), f"{county_name}{town_name}", town)
                builder.close(town)
            grassroots_under(k, ("county", code), county_name, None)
            builder.close(k)
        grassroots_under(c, ("city", city.code), city.name, None)
        builder.close(c)
    return builder.close(root)


def build_industry(builder: TreeBuilder, national_pk: int, name: str) -> Union:
    """A national industry union with ten grassroots unions of central enterprises."""
    root = builder.tree("industry", name, national_pk)
    for n in range(10):
        builder.grassroots(root, f"{name[2:-2]}直属第{n + 1}企业工会", None, 0)
    return builder.close(root)


def plan_members(rows: list[Union], members: int, rng: random.Random) -> None:
    """Sizes of grassroots unions summing to `members` (at least one per active union),
    and employee numbers to match."""
    unions = [u for u in rows if u.level == "grassroots" and u.weight > 0]
    if not unions:
        return
    spare = max(0, members - len(unions))
    total = sum(u.weight for u in unions) or 1.0
    base = min(1, members // len(unions))
    for u in unions:
        u.members = base + int(u.weight * spare / total)
    short = members - sum(u.members for u in unions)
    for u in sorted(unions, key=lambda u: -u.weight)[: max(0, short)]:
        u.members += 1
    for u in unions:
        if rng.random() < 0.95:  # some unions never reported their employees
            u.employees = max(u.members, round(u.members / rng.uniform(0.70, 1.0)))


def load_organizations(rows: list[Union]) -> None:
    """COPY the tree rows into organizations_organization, in tree order."""
    from django.db import connection
    from django.utils import timezone

    from organizations.models import Organization
    from organizations.validators import pinyin_keys

    now = timezone.now()
    names = sorted({u.name for u in rows})
    # pypinyin takes about 0.4 ms a name here: both cores.
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pinyin = dict(zip(names, pool.map(pinyin_keys, names, chunksize=500), strict=True))
    fields = list(Organization._meta.concrete_fields)
    columns = [f.column for f in fields]
    known = {
        "id", "name", "level", "parent_id", "tree_parent_id", "region_code", "status",
        "founded_on", "dues_share_percent", "keeps_retained_members", "industry_id",
        "employees", "name_pinyin", "name_initials", "created_at", "updated_at", "lft",
        "rght", "tree_id", "depth",
    }  # fmt: skip
    constant = {}
    for f in fields:
        if f.column not in known:
            if f.has_default():
                constant[f.column] = f.get_default()
            elif f.null:
                constant[f.column] = None
            elif f.empty_strings_allowed:
                constant[f.column] = ""
            else:
                raise SystemExit(f"organizations_organization.{f.column}: teach bench/dataset.py")
    table = Organization._meta.db_table
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for u in rows:
                values = {
                    "id": u.pk,
                    "name": u.name,
                    "level": u.level,
                    "parent_id": u.parent.pk if u.parent else None,
                    "tree_parent_id": u.tree_parent.pk if u.tree_parent else None,
                    "region_code": u.region_code,
                    "status": u.status,
                    "founded_on": u.founded_on,
                    "dues_share_percent": u.dues_share,
                    "keeps_retained_members": u.keeps_retained,
                    "industry_id": u.industry_id,
                    "employees": u.employees,
                    "name_pinyin": pinyin[u.name][0],
                    "name_initials": pinyin[u.name][1],
                    "created_at": now,
                    "updated_at": now,
                    "lft": u.lft,
                    "rght": u.rght,
                    "tree_id": u.tree_id,
                    "depth": u.depth,
                    **constant,
                }
                copy.write_row([values[c] for c in columns])
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
        )


# --------------------------------------------------------------------------------------- #
# Members
# --------------------------------------------------------------------------------------- #

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔汤"  # noqa: E501
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉鹏飞宇浩然子轩梓涵欣怡佳琪晨阳思雨俊杰志强海燕婷雪梅丹琳瑶博宁"  # noqa: E501
JOBS = ["操作工", "技术员", "工程师", "会计", "销售", "仓管员", "司机", "质检员", "教师"]
JOBS += ["护士", "医生", "文员", "厨师", "保安", "电工", "焊工", "快递员", "骑手", ""]
STATUS = (["active", "retained", "withdrawn", "expelled", "deceased"],
          [0.905, 0.03, 0.055, 0.003, 0.007])  # fmt: skip
EMPLOYMENT = (["full_time", "part_time", "dispatched", "flexible", "delivery_rider",
               "ride_hailing", "courier", "truck_driver", "domestic", "other_new_form"],
              [0.70, 0.05, 0.07, 0.03, 0.05, 0.03, 0.03, 0.02, 0.01, 0.01])  # fmt: skip
EDUCATION = (["junior_high", "senior_high", "college", "bachelor", "master", "doctorate", ""],
             [0.22, 0.30, 0.20, 0.18, 0.04, 0.005, 0.055])  # fmt: skip
MOBILE_PREFIXES = [*range(130, 140), 150, 151, 152, 153, 155, 156, 157, 158, 159, 166,
                   *range(175, 179), *range(180, 190), 191, 198, 199]  # fmt: skip
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def mod11_2_sum(digits: str, offset: int) -> int:
    """ISO 7064 MOD 11-2 weighted sum of `digits` at positions offset.. of an ID number."""
    return sum(int(d) * ID_WEIGHTS[offset + i] for i, d in enumerate(digits))


def id_check_digit(first17: str) -> str:
    return ID_CHECK[mod11_2_sum(first17, 0) % 11]


def _luhn_doubled(x: int) -> int:
    return x * 2 - 9 if x > 4 else x * 2


# Luhn sums of a 4-digit chunk that starts at an even position counted from the right of the
# body (the rightmost body digit is doubled).
LUHN4 = [
    sum(_luhn_doubled(int(d)) if i % 2 == 0 else int(d) for i, d in enumerate(f"{x:04d}"[::-1]))
    for x in range(10_000)
]


def luhn_sum(text: str, offset: int) -> int:
    """Luhn sum of `text` whose rightmost digit sits at `offset` from the body's right."""
    return sum(
        _luhn_doubled(int(d)) if (offset + i) % 2 == 0 else int(d) for i, d in enumerate(text[::-1])
    )


def luhn_of_index(prefix_sum: int, i: int) -> str:
    """Luhn check digit of a body `prefix + f"{i:0{4k}d}"` (i in 4-digit chunks)."""
    total = prefix_sum
    while i:
        total += LUHN4[i % 10_000]
        i //= 10_000
    return str((10 - total % 10) % 10)


@dataclass
class MemberPools:
    """Everything per-row generation looks up instead of computing."""

    reference: datetime.date
    names: list[str]
    day_iso: list[str]  # day index (from EPOCH) → "1990-01-31"
    day_digits: list[str]  # → "19900131"
    day_sum: list[int]  # → MOD 11-2 partial sum of those 8 digits
    birth_days: list[int]
    birth_cum: list[float]
    regions: list[str]
    region_cum: list[float]
    region_sum: list[int]
    id_tokens: list[str]
    phone_tokens: list[str]
    wages: list[str]
    encrypt_all: bool


EPOCH = datetime.date(1940, 1, 1)


def member_pools(rng: random.Random, reference: datetime.date, encrypt_all: bool) -> MemberPools:
    from core import crypto

    days = (reference - EPOCH).days + 1
    dates = [EPOCH + datetime.timedelta(days=d) for d in range(days)]
    # Ages 18-62, most between 25 and 50 (a triangular-ish working population).
    births, weights = [], []
    for d, day in enumerate(dates):
        age = (reference - day).days / 365.25
        if 18 <= age < 62:
            births.append(d)
            weights.append(max(0.2, 1 - abs(age - 36) / 28))
    regions, region_weights = id_regions()
    surnames = list(SURNAMES)
    names = {
        rng.choice(surnames) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        for _ in range(40_000)
    }
    # Fernet-encrypting 10,000,000 ID numbers and phones would cost about 7 µs a value
    # (2.5 minutes of one core for both); by default the bench encrypts a pool of 1,000
    # sample values and reuses those ciphertexts, so `id_number` of a row decrypts to some
    # valid number, not to the row's own (its hash and mask are the row's own).
    # --encrypt all encrypts every value.
    samples = [f"330106{1970 + n % 30}0{1 + n % 9}1{n % 10}{n % 1000:03d}" for n in range(1000)]
    id_tokens = [] if encrypt_all else [crypto.encrypt(s + id_check_digit(s)) for s in samples]
    phone_tokens = (
        [] if encrypt_all else [crypto.encrypt(f"139{n:08d}") for n in range(0, 10**8, 10**5)]
    )
    return MemberPools(
        reference=reference,
        names=sorted(names),
        day_iso=[d.isoformat() for d in dates],
        day_digits=[d.strftime("%Y%m%d") for d in dates],
        day_sum=[mod11_2_sum(d.strftime("%Y%m%d"), 6) for d in dates],
        birth_days=births,
        birth_cum=list(itertools.accumulate(weights)),
        regions=regions,
        region_cum=list(itertools.accumulate(region_weights)),
        region_sum=[mod11_2_sum(c, 0) for c in regions],
        id_tokens=id_tokens,
        phone_tokens=phone_tokens,
        wages=[f"{round(rng.lognormvariate(8.9, 0.45), -1):.2f}" for _ in range(5000)],
        encrypt_all=encrypt_all,
    )


# COPY column order (any order will do): per-row values first, then a segment drawn from
# the profile pool, the union's own text, and the constant columns.
MEMBER_COLUMNS = (
    "id", "organization_id", "name", "gender", "birth_date", "id_number_encrypted", "id_hash",
    "id_masked", "phone_encrypted", "phone_hash", "phone_masked", "membership_number",
    "join_date", "status_changed_on", "card_number", "card_issued_at",
    # the profile pool
    "status", "ethnicity", "education", "job", "employment_type", "wage_base",
    # the union
    "employer",
    # constants
    "card_serial", "card_revoked_at", "deleted_at", "created_at", "updated_at", "user_id",
)  # fmt: skip


def member_copy_columns() -> tuple[list[str], str]:
    """All columns of members_member, and the COPY text of the ones filled with a constant."""
    from members.models import Member

    tail = []
    columns = list(MEMBER_COLUMNS)
    for f in Member._meta.concrete_fields:
        if f.column in MEMBER_COLUMNS:
            continue
        if f.has_default():
            value = f.get_default()
            tail.append("t" if value is True else "f" if value is False else str(value))
        elif f.null:
            tail.append("\\N")
        elif f.empty_strings_allowed:
            tail.append("")
        else:
            raise SystemExit(f"members_member.{f.column} has no default: teach bench/dataset.py")
        columns.append(f.column)
    missing = set(MEMBER_COLUMNS) - {f.column for f in Member._meta.concrete_fields}
    if missing:
        raise SystemExit(f"members_member lost columns {sorted(missing)}: update bench/dataset.py")
    return columns, "".join("\t" + t for t in tail)


def profile_pool(rng: random.Random, wages: list[str], size: int = 1 << 16) -> list[tuple]:
    """(status, COPY text from status to wage_base) drawn from the distributions above; a
    row takes one at random, which is much cheaper than drawing each field."""
    # 94 % Han, the rest spread over the larger minorities.
    ethnic = ["01"] * 94 + [f"{n:02d}" for n in (2, 3, 4, 5, 6, 7, 8, 9, 11, 15, 22, 3)]
    pool = []
    for status, school, job, work, nation in zip(
        rng.choices(*STATUS, k=size),
        rng.choices(*EDUCATION, k=size),
        rng.choices(JOBS, k=size),
        rng.choices(*EMPLOYMENT, k=size),
        rng.choices(ethnic, k=size),
        strict=True,
    ):
        wage = rng.choice(wages) if rng.random() < 0.7 else "\\N"
        pool.append((status, f"{status}\t{nation}\t{school}\t{job}\t{work}\t{wage}"))
    return pool


def member_chunks(
    unions: list[Union], pools: MemberPools, rng: random.Random, tail: str
) -> Iterator[str]:
    """COPY text of every member, MEMBER_CHUNK rows at a time, ids 1..M in union order."""
    from django.conf import settings
    from django.utils import timezone

    from core import crypto

    key = settings.ID_HASH_KEY.encode()
    # crypto.id_hash(n) is HMAC-SHA256(ID_HASH_KEY, "id:" + n): the "id:" is fed once and
    # the state copied per row; `_hmac` is OpenSSL's object, without the Python wrapper.
    id_mac = hmac.new(key, b"id:", hashlib.sha256)
    phone_mac = hmac.new(key, b"phone:", hashlib.sha256)
    id_mac, phone_mac = getattr(id_mac, "_hmac", id_mac), getattr(phone_mac, "_hmac", phone_mac)
    now = timezone.now().isoformat()
    constant = f"\t1\t\\N\t\\N\t{now}\t{now}\t\\N{tail}\n"  # card_serial .. user_id
    ref = (pools.reference - EPOCH).days
    since_2000 = (datetime.date(2000, 1, 1) - EPOCH).days
    n_days = len(pools.day_iso)
    counts = bytearray(len(pools.regions) * n_days * 2)
    names, day_iso, day_digits = pools.names, pools.day_iso, pools.day_digits
    day_sum, regions, region_sum = pools.day_sum, pools.regions, pools.region_sum
    region_cum, region_total = pools.region_cum, pools.region_cum[-1]
    id_tokens, phone_tokens = pools.id_tokens, pools.phone_tokens
    n_id_tokens, n_phone_tokens = len(id_tokens), len(phone_tokens)
    encrypt_all = pools.encrypt_all
    prefixes = [str(p) for p in MOBILE_PREFIXES]
    n_prefixes = len(prefixes)
    year_sum = {str(y): luhn_sum(str(y), 11) for y in range(1940, pools.reference.year + 1)}
    card_sum = luhn_sum("8", 14)
    seq_text = [f"{s:03d}" for s in range(1000)]
    seq_sum = [mod11_2_sum(t, 14) for t in seq_text]
    profiles = profile_pool(rng, pools.wages)
    random_, getrandbits, bisect_ = rng.random, rng.getrandbits, bisect.bisect
    buf: list[str] = []
    i = 0
    for union in unions:
        n = union.members
        if not n:
            continue
        employer = union.name[:-2] if union.name.endswith("工会") else union.name
        org, parked = str(union.pk), str(union.township.pk if union.township else union.pk)
        after = f"\t{employer}{constant}"
        births = rng.choices(pools.birth_days, cum_weights=pools.birth_cum, k=n)
        given = rng.choices(names, k=n)
        for born, name in zip(births, given, strict=True):
            i += 1
            status, profile = profiles[getrandbits(16)]
            # An ID number unique per person: region, birth date, a sequence number whose
            # parity is the gender, then the MOD 11-2 check digit.
            home = bisect_(region_cum, random_() * region_total)
            male = random_() < 0.55
            slot = ((home * n_days + born) << 1) | male
            seq = counts[slot] * 2 + male
            counts[slot] += 1  # ValueError past 255 people of one region, day and gender
            number = (
                regions[home]
                + day_digits[born]
                + seq_text[seq]
                + ID_CHECK[(region_sum[home] + day_sum[born] + seq_sum[seq]) % 11]
            )
            mac = id_mac.copy()
            mac.update(number.encode())
            id_enc = crypto.encrypt(number) if encrypt_all else id_tokens[i % n_id_tokens]
            joined = since_2000 if born + 6575 < since_2000 else born + 6575  # from age 18
            joined += int(random_() * (ref - joined))
            join_iso = day_iso[joined]
            year = join_iso[:4]
            if random_() < 0.9:
                # Unique: the prefix cycles with i, and 7919 is invertible modulo 10**8.
                phone = f"{prefixes[i % n_prefixes]}{(i // n_prefixes) * 7919 % 100_000_000:08d}"
                pmac = phone_mac.copy()
                pmac.update(phone.encode())
                p_enc = crypto.encrypt(phone) if encrypt_all else phone_tokens[i % n_phone_tokens]
                phone_cols = f"{p_enc}\t{pmac.hexdigest()}\t{phone[:3]}****{phone[-4:]}"
            else:
                phone_cols = "\t\t"
            if status == "active":
                where, changed = org, "\\N"
            else:
                where = parked if status == "retained" else org
                changed = day_iso[joined + int(random_() * (ref - joined))]
            if (status == "active" or status == "retained") and random_() < 0.6:
                card = f"8{i:014d}{luhn_of_index(card_sum, i)}\t{join_iso} 10:00:00+08"
            else:
                card = "\\N\t\\N"
            buf.append(
                f"{i}\t{where}\t{name}\t{'male' if male else 'female'}\t{day_iso[born]}"
                f"\t{id_enc}\t{mac.hexdigest()}\t{number[:4]}**********{number[14:]}"
                f"\t{phone_cols}\t{year}{i:011d}{luhn_of_index(year_sum[year], i)}"
                f"\t{join_iso}\t{changed}\t{card}\t{profile}{after}"
            )
            if len(buf) >= MEMBER_CHUNK:
                yield "".join(buf)
                buf.clear()
    if buf:
        yield "".join(buf)


def table_extras(cursor, table: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The table's secondary indexes and its non-primary-key constraints, as DDL."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype IN ('u', 'f', 'c', 'x') ORDER BY conname",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x"
        " JOIN pg_class i ON i.oid = x.indexrelid"
        " WHERE x.indrelid = %s::regclass AND NOT x.indisprimary"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid"
        "                 AND c.conrelid = x.indrelid)"
        " ORDER BY i.relname",
        [table],
    )
    return constraints, cursor.fetchall()


@contextlib.contextmanager
def bare_table(cursor, table: str, phases: Phases, label: str):
    """Empty `table` and drop its secondary indexes and constraints; put them back, as the
    migrations made them, when the block is done (in the caller's transaction)."""
    constraints, indexes = table_extras(cursor, table)
    for name, _ in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    # Truncated in this transaction: with wal_level=minimal what follows skips the WAL.
    # (CASCADE: the tables pointing at this one are empty in a fresh dataset database.)
    cursor.execute(f"TRUNCATE {table} CASCADE")
    yield
    with phases(f"{label}: {len(indexes)} indexes, {len(constraints)} constraints"):
        for _, ddl in indexes:
            cursor.execute(ddl)
        for name, ddl in constraints:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {ddl}')


def load_members(unions: list[Union], pools: MemberPools, rng, phases: Phases) -> int:
    """COPY every member with only the primary key in place, then the other indexes and
    constraints."""
    from django.db import connection, transaction

    from members.models import Member

    table = Member._meta.db_table
    columns, tail = member_copy_columns()
    copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in LOAD_SESSION:
            cursor.execute(statement)
        with (
            bare_table(cursor, table, phases, "members"),
            phases("members: generate + COPY"),
            cursor.copy(copy_sql) as copy,
        ):
            for chunk in member_chunks(unions, pools, rng, tail):
                copy.write(chunk)
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
        )
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        return cursor.fetchone()[0]


# --------------------------------------------------------------------------------------- #
# Counters and roll-ups
# --------------------------------------------------------------------------------------- #


def fill_counters(phases: Phases) -> None:
    """Every `members.` and `organizations.` counter from the rows, in SQL, then roll-ups."""
    from django.db import connection, transaction

    from members.models import Member
    from organizations import rollups
    from organizations.models import CounterDelta, Organization, OrgCounter

    counter, member, org = (
        OrgCounter._meta.db_table,
        Member._meta.db_table,
        Organization._meta.db_table,
    )
    member_counts = [
        f"""SELECT organization_id, 'members.status.' || status, COUNT(*) FROM {member}
        WHERE deleted_at IS NULL GROUP BY organization_id, status""",
        # Profile breakdowns count active members only (members.counters.counter_keys).
        f"""SELECT organization_id,
               CASE WHEN GROUPING(gender) = 0 THEN 'members.gender.' || gender
                    WHEN GROUPING(born) = 0 THEN 'members.birth_year.' || born
                    ELSE 'members.employment.' || employment_type END,
               COUNT(*)
        FROM (SELECT organization_id, gender, employment_type,
                     CAST(EXTRACT(YEAR FROM birth_date) AS integer) AS born
              FROM {member} WHERE status = 'active' AND deleted_at IS NULL) m
        GROUP BY GROUPING SETS ((organization_id, gender), (organization_id, born),
                                (organization_id, employment_type))""",
    ]
    tree_counts = f"""
        SELECT id, 'organizations.units.' || level, 1 FROM {org} WHERE status = 'active'
        UNION ALL
        SELECT id, 'organizations.employees', employees FROM {org}
        WHERE status = 'active' AND level = 'grassroots' AND employees > 0"""
    insert = f"INSERT INTO {counter} (organization_id, key, value) "
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in LOAD_SESSION:
            cursor.execute(statement)
        cursor.execute(f"DELETE FROM {CounterDelta._meta.db_table}")  # all counted below
        with bare_table(cursor, counter, phases, "counters"):
            with phases("counters: members.* (two scans of the members)"):
                for select in member_counts:
                    cursor.execute(insert + select)
            with phases("counters: organizations.*"):
                cursor.execute(insert + tree_counts)
        cursor.execute(f"ANALYZE {counter}")
    with phases("rollups.rebuild()"):
        written = rollups.rebuild()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {rollups.OrgRollup._meta.db_table}")
    print(f"    {written:,} roll-up rows")


# --------------------------------------------------------------------------------------- #
# Building and checking
# --------------------------------------------------------------------------------------- #


def build(
    unions: int, members: int, seed: int, *, encrypt_all: bool = False
) -> tuple[dict, Phases]:
    """Load the whole dataset into the (empty) database; returns its description."""
    from django.core.management import call_command
    from django.db import connection

    from organizations import actions
    from organizations.models import Organization

    rng = random.Random(seed)
    phases = Phases()
    with phases("migrate"):
        call_command("migrate", verbosity=0)
    if Organization.objects.exists():
        raise SystemExit("the dataset needs an empty database")
    with phases("tree: lay out"):
        national = actions.create_national_federation(data={"name": "中华全国总工会"})
        builder = TreeBuilder(national.pk + 1, national.tree_id + 1, rng)
        province = build_province(builder, national.pk, *PROVINCE, unions)
        other = build_province(builder, national.pk, *OTHER_PROVINCE, max(200, unions // 50))
        industries = [build_industry(builder, national.pk, name) for name in INDUSTRIES]
        rows = builder.rows
        grassroots = [u for u in rows if u.tree_id == province.tree_id and u.level == "grassroots"]
        for u in rng.sample(grassroots, round(len(grassroots) * INDUSTRY_SHARE)):
            u.industry_id = industries[0].pk if rng.random() < 0.6 else industries[1].pk
        plan_members(rows, members, rng)
    with phases("tree: COPY (with pinyin keys)"):
        load_organizations(rows)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Organization._meta.db_table}")
    pools = member_pools(rng, datetime.date.today(), encrypt_all)
    loaded = load_members(rows, pools, rng, phases)
    with phases("members: VACUUM ANALYZE"), connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE members_member")
    fill_counters(phases)
    city = next(u for u in rows if u.level == "city" and u.tree_id == province.tree_id)
    info = {
        "complete": True,
        "unions": unions,
        "members": loaded,
        "seed": seed,
        "organizations": Organization.objects.count(),
        "province_unions": sum(1 for u in rows if u.tree_id == province.tree_id),
        "national": national.pk,
        "province": province.pk,
        "city": city.pk,
        "other_province": other.pk,
        "industries": [u.pk for u in industries],
        "built": datetime.datetime.now().isoformat(timespec="seconds"),
        "seconds": phases.seconds,
    }
    return info, phases


def mark_complete(info: dict) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        name = cursor.fetchone()[0]
        text = json.dumps(info, ensure_ascii=False).replace("'", "''")
        cursor.execute(f"COMMENT ON DATABASE \"{name}\" IS '{text}'")


def description() -> dict:
    from django.db import connection

    connection.ensure_connection()
    info = read_description(connection.connection)
    if info is None:
        raise SystemExit("the database holds no complete dataset")
    return info


def count_active(org) -> int:
    """Ground truth: active members in `org`'s subtree (as `scope.subtree_q` defines it),
    counted over members_member."""
    from members.models import Member
    from organizations import scope

    return Member.objects.filter(
        scope.subtree_q(org, "organization__"), status="active", deleted_at__isnull=True
    ).count()


def check(info: dict, *, full: bool) -> bool:
    """Roll-ups of the national federation, the province and a city equal a COUNT over the
    members; with `full`, also `rollups.verify()` and `counters.verify()` (small sizes)."""
    from organizations import counters, rollups
    from organizations.models import Organization

    ok = True
    for label in ("province", "city", "national", "other_province"):
        org = Organization.objects.get(pk=info[label])
        start = time.perf_counter()
        truth = count_active(org)
        took = time.perf_counter() - start
        stored = rollups.totals(org, keys=["members.status.active"]).get("members.status.active", 0)
        same = stored == truth
        ok &= same
        print(
            f"  {label:14} roll-up members.status.active {stored:>11,}"
            f"   COUNT(*) {truth:>11,} ({took:.1f} s)   {'ok' if same else 'MISMATCH'}"
        )
    if full:
        start = time.perf_counter()
        drift = rollups.verify()
        print(
            f"  rollups.verify(): {drift.checked:,} roll-ups, {len(drift.wrong)} wrong"
            f" ({time.perf_counter() - start:.1f} s)"
        )
        ok &= drift.ok
        start = time.perf_counter()
        drift = counters.verify()
        print(
            f"  counters.verify(): {drift.checked:,} counters, {len(drift.wrong)} wrong"
            f" ({time.perf_counter() - start:.1f} s)"
        )
        for key, (stored, true) in list(drift.wrong.items())[:10]:
            print(f"    {key}: stored {stored}, true {true}")
        ok &= drift.ok
    return ok


def ensure(
    cluster: Cluster | None,
    unions: int,
    members: int,
    seed: int,
    *,
    rebuild: bool = False,
    encrypt_all: bool = False,
) -> dict:
    """The dataset of this size, built unless a complete one is there; sets up Django."""
    name = database_name(unions, members, seed)
    _, complete = open_database(cluster, name, rebuild=rebuild)
    setup_django()
    from django.core.management import call_command

    if complete:
        call_command("migrate", verbosity=0)  # the schema may have moved on since the build
        info = description()
        print(f"dataset {name}: reused (built {info['built']}, {info['members']:,} members)")
        return info
    print(f"dataset {name}: building {unions:,} unions, {members:,} members")
    start = time.perf_counter()
    info, _ = build(unions, members, seed, encrypt_all=encrypt_all)
    info["seconds"]["total"] = round(time.perf_counter() - start, 1)
    mark_complete(info)
    print(f"  built in {info['seconds']['total']:.0f} s ({info['organizations']:,} organizations)")
    return info


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unions", type=int, default=100_000, help="size of the big province")
    parser.add_argument("--members", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--rebuild", action="store_true", help="drop and load again")
    parser.add_argument("--recount", action="store_true", help="counters and roll-ups again")
    parser.add_argument("--encrypt", choices=["pool", "all"], default="pool")
    parser.add_argument(
        "--self-check",
        action="store_true",
        help="build a small dataset (3,000 unions, 100,000 members) and verify everything",
    )
    parser.add_argument("--verify", action="store_true", help="rollups.verify() at any size")
    parser.add_argument("--keep-running", action="store_true", help="leave PostgreSQL up")
    args = parser.parse_args()
    if args.self_check:
        args.unions, args.members, args.rebuild, args.verify = 3_000, 100_000, True, True

    cluster = None if "DATABASE_URL" in os.environ else Cluster(args.data_dir)
    if cluster:
        cluster.start()
    try:
        info = ensure(
            cluster,
            args.unions,
            args.members,
            args.seed,
            rebuild=args.rebuild,
            encrypt_all=args.encrypt == "all",
        )
        if args.recount:
            phases = Phases()
            fill_counters(phases)
            info["seconds"].update({f"recount {k}": v for k, v in phases.seconds.items()})
            mark_complete(info)
        print("checks:")
        if not check(info, full=args.verify):
            sys.exit("dataset check FAILED")
    finally:
        if cluster and not args.keep_running:
            cluster.stop()


if __name__ == "__main__":
    main()
