"""Demo data, the pages around the API, and admin for an operator."""

import io
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from accounts.models import ApiKey, CreditLedgerEntry, Team, User
from graph.demo import DEMO_WORKFLOWS
from graph.models import Workflow
from graph.validation import validate_graph


@pytest.fixture
def seeded(db, tmp_path, settings, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return SimpleNamespace(var=tmp_path, out=out.getvalue())


def test_seed_demo_creates_team_user_key_and_the_valid_demo_workflows(seeded):
    team = Team.objects.get(slug="demo")
    assert team.plan == "pro" and team.credit_balance == 1000
    user = User.objects.get(username="demo")
    assert user.is_superuser and user.memberships.get().role == "owner"
    password = (seeded.var / "demo_password").read_text()
    assert user.check_password(password)
    assert password in seeded.out and "sk-" in seeded.out
    workflows = Workflow.objects.filter(team=team)
    assert sorted(w.name for w in workflows) == [
        "Brief → LLM prompts → FLUX.2 ×3 → Kling ×3 → voice-over → finished cut",
        "Flux 2 Pro → upscale → image-to-video",
        "Local preview → upscale → image-to-video (offline)",
        "One prompt × 12 styles → contact sheet",
        "Product photo → background removal → new scene → upscale",
    ]
    for workflow in workflows:
        assert validate_graph(workflow.nodes, workflow.edges).ok


def test_seed_demo_twice_changes_nothing(seeded, capsys):
    capsys.readouterr()
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "sk-" not in out.split("API key:")[1].split("\n")[0]
    assert Team.objects.count() == 1 and User.objects.count() == 1
    assert ApiKey.objects.count() == 1 and Workflow.objects.count() == 5
    assert CreditLedgerEntry.objects.count() == 1


def test_seed_demo_takes_the_password_from_the_environment(db, tmp_path, settings, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.setenv("DEMO_PASSWORD", "correct horse battery")
    call_command("seed_demo")
    assert User.objects.get(username="demo").check_password("correct horse battery")


def test_the_printed_key_lists_the_demo_workflows(seeded, capsys, client):
    call_command("createapikey", "--team", "demo", "--name", "t")
    key = capsys.readouterr().out.strip()
    response = client.get("/api/v1/workflows", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert len(response.json()["workflows"]) == len(DEMO_WORKFLOWS) == 5


def test_home_lists_workflows_after_login(seeded, client):
    assert client.get("/").status_code == 302
    password = (seeded.var / "demo_password").read_text()
    response = client.post("/login/", {"username": "demo", "password": password})
    assert response.status_code == 302
    page = client.get("/")
    assert b"Local preview" in page.content


@pytest.mark.parametrize(
    "url",
    ["/admin/accounts/team/", "/admin/accounts/apikey/", "/admin/accounts/creditledgerentry/",
     "/admin/accounts/membership/", "/admin/accounts/user/", "/admin/graph/workflow/",
     "/admin/graph/workflowversion/", "/admin/graph/workflowtemplate/",
     "/admin/accounts/apikey/add/"],
)
def test_admin_pages_render_for_the_demo_user(seeded, client, url):
    client.force_login(User.objects.get(username="demo"))
    assert client.get(url).status_code == 200


def test_admin_grant_credits_and_revoke_keys(seeded, client):
    client.force_login(User.objects.get(username="demo"))
    team = Team.objects.get(slug="demo")
    response = client.post("/admin/accounts/team/", {
        "action": "grant_credits", "_selected_action": [team.pk], "apply": "1",
        "amount": "250", "reason": "support ticket"})
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.credit_balance == 1250
    assert CreditLedgerEntry.objects.latest("id").reason == "support ticket"
    key = ApiKey.objects.get()
    client.post("/admin/accounts/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.is_revoked


def test_admin_creates_a_key_and_shows_it_once(seeded, client):
    client.force_login(User.objects.get(username="demo"))
    team = Team.objects.get(slug="demo")
    response = client.post("/admin/accounts/apikey/add/", {
        "team": team.pk, "name": "from admin", "scopes": ["workflows:read"]}, follow=True)
    # On a page of its own, never in a message (tests/accounts/test_admin_api_keys.py).
    assert not any("sk-" in str(m) for m in response.context["messages"])
    raw = response.context["raw_key"]
    assert raw in response.content.decode()
    key = ApiKey.objects.get(name="from admin")
    assert key.scopes == ["workflows:read"]
    from accounts.services import hash_api_key
    assert key.key_hash == hash_api_key(raw)


def test_the_editor_page_loads_the_built_editor_for_members_only(client, team, make_user,
                                                                 other_team):
    from accounts.selectors import principal_for_user
    from graph.services import workflow_create
    from tests.samples import offline_chain

    member = make_user(team=team, role="editor")
    graph = offline_chain()
    workflow, _ = workflow_create(team=team, actor=principal_for_user(member), name="E",
                                  nodes=graph["nodes"], edges=graph["edges"])
    client.force_login(member)
    page = client.get(f"/workflows/{workflow.pk}")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-workflow-id="{workflow.pk}"' in html
    assert '<script type="module" src="/static/editor/assets/' in html
    assert "csrftoken" in page.cookies
    client.force_login(make_user(team=other_team))
    assert client.get(f"/workflows/{workflow.pk}").status_code == 404
