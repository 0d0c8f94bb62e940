"""List fan-out: a List runs its downstream nodes once per item (each item its own node runs),
a Collect node gathers what succeeded, one item's failure fails only its branch, caching works
per item, and money is exact: a known list is priced and reserved in full, a list made during
the run is reserved item by item as far as the balance goes, never overdrawn."""

from __future__ import annotations

import pytest

from accounts.models import CreditLedgerEntry, Team
from executions.models import Asset, Execution, NodeRun, NodeStatus
from tests.api.test_executions import create, poll_until_done
from tests.graph.builders import edge, node

pytestmark = pytest.mark.django_db(transaction=True)

FLUX = {"width": 1024, "height": 1024, "seed": 7}  # 3 credits a run
PREVIEW = {"seed": 5, "width": 64, "height": 64}


def styles_graph(items: str, *, model="generate:local_preview", config=None, feed=None):
    """List → <model> → Collect; `feed` ("text" or "router"): the list's items come from a
    Text Input wired in (known before the run) or through a router (known only during it)."""
    nodes = [node("styles", "utility:list", {"items": "" if feed else items}),
             node("gen", model, dict(config or PREVIEW)),
             node("sheet", "utility:collect", {"columns": 3, "cell": 64})]
    edges = [edge("e1", "styles", "item", "gen", "prompt"),
             edge("e2", "gen", "image", "sheet", "images")]
    if feed:
        nodes.append(node("brief", "input:text", {"prompt": items}))
        if feed == "router":
            nodes.append(node("route", "logic:router", {}))
            edges += [edge("e3", "brief", "text", "route", "input"),
                      edge("e4", "route", "output", "styles", "text")]
        else:
            edges.append(edge("e3", "brief", "text", "styles", "text"))
    return {"name": "Fan-out", "nodes": nodes, "edges": edges}


def run(api, workflow_id, body=None):
    response = api.post(f"/api/v1/workflows/{workflow_id}/execute", body or {}, format="json")
    assert response.status_code == 201, response.json()
    return poll_until_done(api, response["Location"])


def branches(done, node_id):
    return sorted((r for r in done["nodeResults"]["nodeRuns"] if r["nodeId"] == node_id),
                  key=lambda r: r["itemIndex"])


def state(done, node_id):
    found = [s for s in done["nodeStates"] if s["nodeId"] == node_id]
    assert len(found) == 1  # one state per node, branches summarised
    return found[0]


def test_each_item_runs_its_own_branch_and_collect_makes_a_contact_sheet(api, live_worker):
    workflow_id = create(api, styles_graph("watercolor\noil painting\npencil sketch\npop art"))
    done = run(api, workflow_id)
    assert done["status"] == "COMPLETED", done["error"]
    gen = branches(done, "gen")
    assert [r["itemIndex"] for r in gen] == [0, 1, 2, 3]
    assert {r["status"] for r in gen} == {"COMPLETED"}
    summary = state(done, "gen")
    assert summary["status"] == "COMPLETED"
    assert summary["items"] == {"total": 4, "completed": 4, "failed": 0, "running": 0,
                                "waiting": 0}
    assert len(summary["outputUrls"]) == 4
    sheet = state(done, "sheet")
    assert sheet["items"] == {"total": 4, "gathered": 4, "failed": 0}
    collect = branches(done, "sheet")[0]["output"]
    grid, *images = collect["images"]
    assert len(images) == 4  # the grid, then the four images as a list
    # Three columns of 64 px cells with 8 px gaps, two rows.
    assert (grid["width"], grid["height"]) == (3 * 64 + 4 * 8, 2 * 64 + 3 * 8)
    # Each branch read its own item: four different prompts, four different images.
    rows = NodeRun.objects.filter(execution_id=done["executionId"], node_id="gen")
    assert rows.count() == 4 and len({r.cache_key for r in rows}) == 4


def test_a_json_array_from_upstream_text_fans_out(api, live_worker):
    graph = styles_graph('```json\n["a red fox", "a blue whale"]\n```', feed="router")
    done = run(api, create(api, graph))
    assert done["status"] == "COMPLETED", done["error"]
    assert [r["itemIndex"] for r in branches(done, "gen")] == [0, 1]


def test_cache_per_item_same_item_same_settings_is_a_hit(api, live_worker):
    workflow_id = create(api, styles_graph("a\nb\nc"))
    assert run(api, workflow_id)["status"] == "COMPLETED"
    again = run(api, workflow_id, {"iteratorConfigs": {"styles": {"items": ["a", "b", "d"]}}})
    assert [r["status"] for r in branches(again, "gen")] == ["CACHED", "CACHED", "COMPLETED"]


def test_one_failed_item_fails_only_its_branch_and_collect_gathers_the_rest(
        api, team, live_worker):
    team.credit_balance = 100
    team.save()
    graph = styles_graph("a heron\nsim:request-moderated\na crane", model="generate:flux_2_pro",
                         config=FLUX)
    done = run(api, create(api, graph))
    gen = branches(done, "gen")
    assert [r["status"] for r in gen] == ["COMPLETED", "FAILED", "COMPLETED"]
    sheet = branches(done, "sheet")[0]
    assert sheet["status"] == "COMPLETED"
    assert len(sheet["output"]["images"]) == 1 + 2  # the grid and the two that succeeded
    assert state(done, "sheet")["items"] == {"total": 3, "gathered": 2, "failed": 1}
    assert state(done, "gen")["error"].startswith("1 of 3 items failed")
    assert done["status"] == "FAILED"  # a failed node fails the run, as ever
    # Money: the moderated item costs nothing.
    assert done["credits"]["charged"] == 6
    assert Team.objects.get(pk=team.pk).credit_balance == 94


def test_a_known_list_is_priced_items_times_unit(api, team):
    team.credit_balance = 100
    team.save()
    ids = []
    for graph in (styles_graph("a\nb\nc\nd", model="generate:flux_2_pro", config=FLUX),
                  styles_graph("a\nb\nc\nd", model="generate:flux_2_pro", config=FLUX,
                               feed="text")):
        workflow_id = create(api, graph)
        ids.append(workflow_id)
        estimate = api.post(f"/api/v1/workflows/{workflow_id}/estimate", {},
                            format="json").json()["data"]
        assert estimate["estimateComplete"] is True
        assert estimate["estimatedCredits"] == 12
        line = next(item for item in estimate["breakdown"] if item["nodeId"] == "gen")
        assert (line["iterations"], line["unitCredits"], line["credits"]) == (4, 3, 12)
    # iteratorConfigs changes the list, and the price with it.
    estimate = api.post(f"/api/v1/workflows/{ids[0]}/estimate",
                        {"iteratorConfigs": [{"nodeId": "styles", "items": ["x", "y"]}]},
                        format="json").json()["data"]
    assert estimate["estimatedCredits"] == 6


def test_a_list_made_during_the_run_is_a_floor_then_reserved_per_item(api, team, live_worker):
    team.credit_balance = 100
    team.save()
    graph = styles_graph("a\nb\nc\nd\ne", model="generate:flux_2_pro", config=FLUX,
                         feed="router")
    workflow_id = create(api, graph)
    estimate = api.post(f"/api/v1/workflows/{workflow_id}/estimate", {},
                        format="json").json()["data"]
    assert estimate["estimateComplete"] is False
    assert estimate["estimatedCredits"] == 3  # one item: the floor
    assert next(line for line in estimate["breakdown"] if line["nodeId"] == "gen")[
        "bound"] == "floor"
    assert any("made during the run" in w for w in estimate["warnings"])
    done = run(api, workflow_id)
    assert done["status"] == "COMPLETED", done["error"]
    assert done["credits"] == {"charged": 15, "estimated": 15}
    assert Team.objects.get(pk=team.pk).credit_balance == 85
    reserved = CreditLedgerEntry.objects.filter(
        team=team, reference=f"execution:{done['executionId']}", delta__lt=0)
    assert sorted(-e.delta for e in reserved) == [3, 12]  # the floor, then four more items
    quoted = NodeRun.objects.filter(execution_id=done["executionId"], node_id="gen")
    assert sorted(quoted.values_list("credits_quoted", "credits")) == [(3, 3)] * 5


def test_a_team_short_of_credits_gets_the_items_it_can_pay_and_a_clear_error(
        api, team, live_worker):
    team.credit_balance = 8  # two items of 3 (the floor and one more), not five
    team.save()
    graph = styles_graph("a\nb\nc\nd\ne", model="generate:flux_2_pro", config=FLUX,
                         feed="router")
    done = run(api, create(api, graph))
    gen = branches(done, "gen")
    assert [r["status"] for r in gen] == ["COMPLETED"] * 2 + ["FAILED"] * 3
    assert gen[2]["error"] == ("Insufficient credits for item 3 of 5: each item costs 3 "
                               "credits; 5 were available")
    assert "insufficient credits for 3 of 5 items" in done["error"]
    assert branches(done, "sheet")[0]["status"] == "COMPLETED"
    assert done["credits"]["charged"] == 6
    assert Team.objects.get(pk=team.pk).credit_balance == 2  # never below zero


def test_a_known_list_the_team_cannot_pay_is_refused_up_front(api, team):
    team.credit_balance = 8
    team.save()
    workflow_id = create(api, styles_graph("a\nb\nc", model="generate:flux_2_pro", config=FLUX))
    response = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    assert response.status_code == 402
    assert response.json()["requiredCredits"] == 9
    assert not Execution.objects.filter(workflow_id=workflow_id).exists()


def test_iterator_configs_are_checked(api):
    workflow_id = create(api, styles_graph("a"))
    url = f"/api/v1/workflows/{workflow_id}/execute"
    for body, message in (
            ({"iteratorConfigs": {"nope": {"items": ["a"]}}}, "names no node"),
            ({"iteratorConfigs": {"gen": {"items": ["a"]}}}, "not a List"),
            ({"iteratorConfigs": {"styles": {"items": []}}}, "must be 1 to 100 strings"),
            ({"iteratorConfigs": {"styles": {"items": [1, 2]}}}, "must be 1 to 100 strings"),
            ({"iteratorConfigs": "styles"}, "must be an object")):
        response = api.post(url, body, format="json")
        assert response.status_code == 400, body
        assert message in response.json()["error"]
    wired = create(api, styles_graph("a", feed="text"))
    url = f"/api/v1/workflows/{wired}/execute"
    for body, message in (
            ({"iteratorConfigs": {"styles": ["x"]}}, "takes its items from node brief"),):
        response = api.post(url, body, format="json")
        assert response.status_code == 400, body
        assert message in response.json()["error"]
    assert not Execution.objects.filter(workflow_id__in=[workflow_id, wired]).exists()


def test_nested_and_overlapping_lists_are_refused_by_validation(api):
    nodes = [node("one", "utility:list", {"items": "a"}),
             node("two", "utility:list", {"items": "b"}),
             node("gen", "generate:local_preview", PREVIEW)]
    nested = api.post("/api/v1/workflows/lint", {"nodes": nodes, "edges": [
        edge("e1", "one", "item", "two", "text")]}, format="json").json()["data"]
    assert "nested_fan_out" in [v["rule"] for v in nested["violations"]]
    overlap = api.post("/api/v1/workflows/lint", {"nodes": nodes, "edges": [
        edge("e1", "one", "item", "gen", "prompt"),
        edge("e2", "two", "item", "gen", "prompt")]}, format="json").json()["data"]
    assert "fan_out_overlap" in [v["rule"] for v in overlap["violations"]]


def test_an_empty_list_fails_the_list_node_and_skips_the_rest(api, live_worker):
    done = run(api, create(api, styles_graph("   \n  ", feed="router")))
    assert done["status"] == "FAILED"
    statuses = {s["nodeId"]: s["status"] for s in done["nodeStates"]}
    assert statuses["styles"] == "FAILED"
    assert statuses["gen"] == statuses["sheet"] == "SKIPPED"
    assert NodeRun.objects.filter(execution_id=done["executionId"],
                                  status=NodeStatus.SKIPPED).count() == 2


def test_lists_growing_at_once_share_the_balance_exactly_and_never_overdraw(
        make_team, make_key, live_worker, settings):
    from tests.concurrency import at_once, keyed_client

    settings.RATE_LIMITS_ENABLED = False
    team = make_team(credits=30)  # ten FLUX items of 3 across four runs of five
    raw = make_key(team).raw_key
    graph = styles_graph("a\nb\nc\nd\ne", model="generate:flux_2_pro", config=FLUX,
                         feed="router")
    workflow_id = keyed_client(raw).post("/api/v1/workflows", graph,
                                         format="json").json()["data"]["id"]
    runs = iter(range(4))  # each run its own items: nothing comes from the cache

    def start():
        number = next(runs)
        words = "\n".join(f"run {number} item {i}" for i in range(5))
        return keyed_client(raw).post(f"/api/v1/workflows/{workflow_id}/execute",
                                      {"inputs": {"brief": words}}, format="json")

    answers = at_once(4, start)
    # Each run is admitted holding its floor (one item). Which runs are admitted depends on
    # how far the worker has got when each request arrives: a start that finds the others'
    # items already holding all 30 credits is refused with 402, as it should be.
    started = [r for r in answers if r.status_code == 201]
    for answer in answers:
        if answer.status_code != 201:
            assert answer.status_code == 402, answer.content
            assert answer.json()["code"] == "insufficient_credits"
    assert len(started) >= 2
    done = [poll_until_done(keyed_client(raw), r["Location"]) for r in started]
    items = [r for run in done for r in branches(run, "gen")]
    completed = [r for r in items if r["status"] == "COMPLETED"]
    refused = [r for r in items if r["status"] == "FAILED"]
    assert len(completed) == 10 and len(refused) == len(items) - 10 == 5 * len(started) - 10
    assert all(r["error"].startswith("Insufficient credits for item") for r in refused)
    assert sum(run["credits"]["charged"] for run in done) == 30
    team.refresh_from_db()
    assert team.credit_balance == 0
    assert min(CreditLedgerEntry.objects.filter(team=team).values_list(
        "balance_after", flat=True)) >= 0


def test_a_failure_outside_the_fan_out_skips_every_branch_and_the_run_settles(
        api, team, live_worker):
    team.credit_balance = 100
    team.save()
    graph = {"name": "outside", "nodes": [
        node("styles", "utility:list", {"items": "one\ntwo\nthree"}),
        node("brief", "input:text", {"prompt": "sim:request-moderated"}),
        node("base", "generate:flux_2_pro", FLUX),
        node("caption", "compose:text_overlay", {}),
        node("sheet", "utility:collect", {})], "edges": [
        edge("e1", "brief", "prompt", "base", "prompt"),
        edge("e2", "base", "image", "caption", "image"),
        edge("e3", "styles", "item", "caption", "text"),
        edge("e4", "caption", "image", "sheet", "images")]}
    done = run(api, create(api, graph))
    assert done["status"] == "FAILED"
    statuses = {s["nodeId"]: s["status"] for s in done["nodeStates"]}
    assert statuses["base"] == "FAILED"
    assert statuses["caption"] == statuses["sheet"] == "SKIPPED"  # every item of caption
    assert done["credits"]["charged"] == 0
    assert Team.objects.get(pk=team.pk).credit_balance == 100


def test_a_batch_takes_iterator_configs_for_each_of_its_runs(api, live_worker):
    nodes = [node("subject", "input:text", {"prompt": "a fox"}), *styles_graph("x")["nodes"]]
    graph = {"name": "batch fan-out", "nodes": nodes,
             "edges": [*styles_graph("x")["edges"],
                       edge("e9", "subject", "text", "sheet", "text")]}
    workflow_id = create(api, graph)
    response = api.post(f"/api/v1/workflows/{workflow_id}/execute", {
        "batch": [{"subject": "a fox"}, {"subject": "an owl"}],
        "iteratorConfigs": {"styles": {"items": ["ink", "chalk"]}}}, format="json")
    assert response.status_code == 201, response.json()
    for started in response.json()["executionRuns"]:
        done = poll_until_done(api, f"/api/v1/workflows/executions/{started['id']}/poll")
        assert done["status"] == "COMPLETED", done["error"]
        assert [r["itemIndex"] for r in branches(done, "gen")] == [0, 1]


def _hook_path(api, workflow_id) -> str:
    url = api.get(f"/api/v1/workflows/{workflow_id}").json()["webhookUrl"]
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_run_and_webhook_triggers_fan_out_iterator_configs_as_execute_does(api, live_worker):
    from rest_framework.test import APIClient

    workflow_id = create(api, styles_graph("x"))
    started = api.post(f"/api/v1/workflows/{workflow_id}/run",
                       {"iteratorConfigs": {"styles": {"items": ["ink", "chalk", "wax"]}}},
                       format="json")
    assert started.status_code == 202, started.json()
    done = poll_until_done(api, started["Location"])
    assert done["status"] == "COMPLETED", done["error"]
    assert [r["itemIndex"] for r in branches(done, "gen")] == [0, 1, 2]
    assert state(done, "sheet")["items"] == {"total": 3, "gathered": 3, "failed": 0}
    triggered = APIClient().post(_hook_path(api, workflow_id), {
        "iteratorConfigs": [{"nodeId": "styles", "items": ["ink", "oil"]}], "source": "crm"},
        format="json")
    assert triggered.status_code == 202, triggered.json()
    run_id = triggered.json()["executionId"]
    done = poll_until_done(api, f"/api/v1/workflows/executions/{run_id}/poll")
    assert done["status"] == "COMPLETED", done["error"]
    gen = branches(done, "gen")
    assert [r["itemIndex"] for r in gen] == [0, 1]
    assert gen[0]["status"] == "CACHED"  # "ink" again, as the /run above made it
    assert Execution.objects.get(pk=run_id).trigger == "webhook"


def test_run_and_webhook_triggers_price_and_reserve_the_items_or_refuse(api, team):
    from rest_framework.test import APIClient

    team.credit_balance = 20
    team.save()
    workflow_id = create(api, styles_graph("a", model="generate:flux_2_pro", config=FLUX))
    hook = _hook_path(api, workflow_id)
    anonymous = APIClient()
    started = api.post(f"/api/v1/workflows/{workflow_id}/run",
                       {"iteratorConfigs": {"styles": ["w", "x", "y", "z"]}}, format="json")
    assert started.status_code == 202, started.json()
    run = Execution.objects.get(pk=started.json()["data"]["executionId"])
    assert run.credits_estimated == run.credits_reserved == 12  # 4 items × 3, all up front
    assert run.fan_out["regions"]["styles"]["items"] == 4
    # Each item's node run is charged at most one item's quote, not the four items'. (The
    # worker may have made the items' node runs from the planned one already: each says 3.)
    quotes = NodeRun.objects.filter(execution=run, node_id="gen").values_list("credits_quoted",
                                                                               flat=True)
    assert set(quotes) == {3}
    triggered = anonymous.post(hook, {"iteratorConfigs": {"styles": {"items": ["p", "q"]}}},
                               format="json")
    assert triggered.status_code == 202, triggered.json()
    hooked = Execution.objects.get(pk=triggered.json()["executionId"])
    assert hooked.credits_reserved == 6 and hooked.fan_out["regions"]["styles"]["items"] == 2
    assert Team.objects.get(pk=team.pk).credit_balance == 2
    # Two items at 3 credits are more than the 2 left: refused before anything is made.
    for response in (
            api.post(f"/api/v1/workflows/{workflow_id}/run",
                     {"iteratorConfigs": {"styles": ["p", "q"]}}, format="json"),
            anonymous.post(hook, {"iteratorConfigs": {"styles": ["p", "q"]}}, format="json")):
        assert response.status_code == 402, response.json()
    # Bad configs: the same 400s as execute, on both.
    for body, message in (({"iteratorConfigs": {"gen": ["a"]}}, "not a List"),
                          ({"iteratorConfigs": {"styles": []}}, "must be 1 to 100 strings"),
                          ({"iteratorConfigs": 5}, "must be an object")):
        for response in (api.post(f"/api/v1/workflows/{workflow_id}/run", body, format="json"),
                         anonymous.post(hook, body, format="json")):
            assert response.status_code == 400, (body, response.json())
            assert message in response.json()["error"]
    assert Execution.objects.filter(workflow_id=workflow_id).count() == 2
    assert Team.objects.get(pk=team.pk).credit_balance == 2


def test_collect_gathers_each_items_video_and_sound_as_lists(api, team, live_worker,
                                                              simulator):
    from tests.media_files import probe

    team.credit_balance = 100  # each voice-over is quoted at its 5,000-character ceiling
    team.save()
    # Two lines of different lengths: two voice-overs of different lengths.
    nodes = [node("styles", "utility:list", {"items": "ink\na chalk drawing of a quiet harbour"}),
             # No fixed seed: each item's picture, so each clip, is its own.
             node("gen", "generate:local_preview", {"width": 64, "height": 64}),
             node("clip", "generate:image_to_video_local", {"duration": 1, "fps": 12}),
             node("say", "generate:tts_elevenlabs", {"voice": "Aria"}),
             node("sheet", "utility:collect", {})]
    edges = [edge("e1", "styles", "item", "gen", "prompt"),
             edge("e2", "gen", "image", "clip", "image"),
             edge("e3", "styles", "item", "say", "text"),
             edge("e4", "clip", "video", "sheet", "videos"),
             edge("e5", "say", "audio", "sheet", "audios")]
    done = run(api, create(api, {"name": "clips and voices", "nodes": nodes, "edges": edges}))
    assert done["status"] == "COMPLETED", done["error"]
    assert done["credits"]["charged"] == 2  # a few characters each: 1 credit a voice
    collected = branches(done, "sheet")[0]["output"]
    assert collected["images"] == []  # videos and sounds make no grid
    assert len(collected["videos"]) == len(collected["audios"]) == 2
    # In item order, each the very file its own branch made.
    sheet = NodeRun.objects.get(execution_id=done["executionId"], node_id="sheet")
    for port, node_id in (("videos", "clip"), ("audios", "say")):
        made = [run.assets.get().sha256 for run in NodeRun.objects.filter(
            execution_id=done["executionId"], node_id=node_id).order_by("item_index")]
        ids = sheet.outputs[port].get("assets") or [sheet.outputs[port]["asset"]]
        gathered = {str(a.pk): a for a in Asset.objects.filter(pk__in=ids)}
        assert [gathered[pk].sha256 for pk in ids] == made and len(set(made)) == 2
        assert {gathered[pk].kind for pk in ids} == {port[:-1] if port == "videos" else "audio"}
    clip = next(a for a in sheet.assets.all() if a.kind == "video")
    streams = probe(clip.file.read(), "mp4")["streams"]
    assert [s["kind"] for s in streams] == ["video"]  # a real MP4, as its branch made it


def test_collect_ports_keep_their_media_types(api):
    nodes = [node("styles", "utility:list", {"items": "a"}),
             node("gen", "generate:local_preview", PREVIEW),
             node("sheet", "utility:collect", {})]
    for wrong in ("videos", "audios"):
        found = api.post("/api/v1/workflows/lint", {"nodes": nodes, "edges": [
            edge("e1", "styles", "item", "gen", "prompt"),
            edge("e2", "gen", "image", "sheet", wrong)]}, format="json").json()["data"]
        assert [v["rule"] for v in found["violations"]] == ["type_mismatch"], wrong
