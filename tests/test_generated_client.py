"""A client generated from the served schema (issue 23): `openapi-python-client` (pinned in
the dev requirements) generates a client from the live server's JSON and YAML schema with
no warning, no dropped model or operation, the same code from both; then a workflow runs
through it as an integrator's system would, with access tokens: list the unions in scope,
read a union's children, its statistics totals and dashboard, enrol a member, start a
transfer, answer a concern, page through a list. Every response parses into its type."""

from __future__ import annotations

import filecmp
import importlib
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from services.actions import voice
from tests.factories import make_member, make_token, person_data

PACKAGE = "union_hub_api_client"


def generate(url: str, out: Path) -> str:
    """Run the generator on the served schema at `url`; its output (warnings included)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [
            Path(sys.executable).parent / "openapi-python-client",
            "generate",
            "--url",
            url,
            "--meta",
            "none",
            "--output-path",
            str(out / PACKAGE),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def same_tree(left: Path, right: Path) -> list[str]:
    """The files that differ between two generated packages."""
    comparison = filecmp.dircmp(left, right, ignore=["__pycache__", ".ruff_cache"])
    differ = comparison.diff_files + comparison.left_only + comparison.right_only
    for name in comparison.common_dirs:
        differ += [f"{name}/{d}" for d in same_tree(left / name, right / name)]
    return differ


@pytest.fixture(scope="module")
def generated(live_server, tmp_path_factory):
    """The client generated from the JSON schema, imported; checked against the YAML one."""
    base = live_server.url
    from_json = tmp_path_factory.mktemp("json")
    from_yaml = tmp_path_factory.mktemp("yaml")
    outputs = {
        "json": generate(f"{base}/api/schema/?format=json", from_json),
        "yaml": generate(f"{base}/api/schema/", from_yaml),
    }
    with urllib.request.urlopen(f"{base}/api/schema/?format=json") as answer:
        schema = json.load(answer)
    sys.path.insert(0, str(from_json))
    try:
        yield {
            "package": importlib.import_module(PACKAGE),
            "outputs": outputs,
            "schema": schema,
            "differ": same_tree(from_json / PACKAGE, from_yaml / PACKAGE),
            "root": from_json / PACKAGE,
        }
    finally:
        sys.path.remove(str(from_json))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_the_json_and_yaml_schemas_generate_the_whole_client(generated):
    for source, output in generated["outputs"].items():
        assert "warning" not in output.lower(), (source, output[:3000])
    assert generated["differ"] == []
    root, schema = generated["root"], generated["schema"]
    modules = {path.stem for path in (root / "api").glob("*/*.py")}
    operations = {
        operation["operationId"]
        for item in schema["paths"].values()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert len(operations) >= 80
    assert operations <= modules, sorted(operations - modules)
    models = importlib.import_module(f"{PACKAGE}.models")
    for name in ("Member", "JoinApplication", "PersonInput", "PatchedPersonUpdate", "Dashboard"):
        assert hasattr(models, name), name
    for name in schema["components"]["schemas"]:
        assert hasattr(models, name), name


def _call(module: str, **kwargs):
    operation = importlib.import_module(f"{PACKAGE}.api.{module}")
    response = operation.sync_detailed(**kwargs)
    assert response.status_code < 300, (module, response.status_code, response.content[:500])
    return response.parsed


@pytest.mark.django_db(transaction=True)
def test_an_integrators_workflow_through_the_generated_client(
    generated, live_server, tree, officers, make_officer
):
    package = generated["package"]
    models = importlib.import_module(f"{PACKAGE}.models")
    base = live_server.url
    union = package.AuthenticatedClient(base_url=base, token=make_token(officers.a_admin))
    county_officer = make_officer("xihu_admin", tree.xihu)
    county = package.AuthenticatedClient(base_url=base, token=make_token(county_officer))

    # The unions in scope, and a union's children.
    page = _call("organizations.organizations_list", client=county)
    assert isinstance(page, models.PaginatedOrganizationList)
    assert tree.union_a.name in {o.name for o in page.results}
    assert tree.union_c.name not in {o.name for o in page.results}
    children = _call("organizations.organizations_children_list", id=tree.xihu.pk, client=county)
    assert {o.name for o in children.results} >= {tree.union_a.name, tree.union_b.name}

    # Its statistics: totals and the dashboard of a period.
    totals = _call("stats.stats_organizations_totals_retrieve", id=tree.xihu.pk, client=county)
    assert isinstance(totals, models.Totals) and totals.organization.id == tree.xihu.pk
    period = importlib.import_module(
        f"{PACKAGE}.models.stats_organizations_dashboard_retrieve_period"
    ).StatsOrganizationsDashboardRetrievePeriod("30d")
    dashboard = _call(
        "stats.stats_organizations_dashboard_retrieve",
        id=tree.xihu.pk,
        client=county,
        period=period,
    )
    assert isinstance(dashboard, models.Dashboard)

    # Enrol a member, then start their transfer to union B.
    person = person_data(name="接口测试")
    body = models.PersonInput(
        name=person["name"],
        id_number=person["id_number"],
        phone=person["phone"],
        employer=person["employer"],
    )
    member = _call("members.members_create", client=union, organization=tree.union_a.pk, body=body)
    assert isinstance(member, models.Member) and member.name == "接口测试"
    start = models.TransferStart(
        side=models.SideEnum.SENDING, to_organization=tree.union_b.pk, member=member.id
    )
    transfer = _call("transfers.transfers_create", client=union, body=start)
    assert isinstance(transfer, models.Transfer)

    # Answer a concern a member raised.
    raiser = make_member(tree.union_a)
    concern = voice.raise_concern(
        member=raiser, data={"category": "wages", "title": "加班费", "text": "未按时发放。"}
    )
    answered = _call(
        "concerns.concerns_reply_create",
        id=concern.pk,
        client=union,
        body=models.Reply(text="已收到，本周内答复。"),
    )
    assert isinstance(answered, models.ConcernDetail)

    # Page through a list longer than a page.
    for _ in range(55):
        make_member(tree.union_a)
    seen, number = [], 1
    while True:
        listed = _call("members.members_list", client=union, page=number)
        assert isinstance(listed, models.PaginatedMemberList)
        seen += [m.id for m in listed.results]
        if not listed.next_:
            break
        number += 1
    assert number >= 2 and len(seen) == len(set(seen)) == listed.count
