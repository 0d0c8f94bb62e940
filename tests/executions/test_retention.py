"""Retention: a plan keeps runs and their files for its days (Free 7, Starter 30, Pro 90,
Enterprise for ever); a periodic pass deletes expired runs with their files (thumbnails too) from
the storage in bounded batches, never a favourite, a file a saved workflow references or one a
kept run still uses; deleting a workflow or a run deletes its files after the same checks."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from accounts.plans import limits_for
from accounts.selectors import principal_for_user
from executions import retention, tasks
from executions.assets import asset_file_names, asset_from_output, asset_upload
from executions.models import Asset, Execution, ExecutionStatus, NodeRun, NodeStatus
from executions.providers import OutputFile
from executions.services import asset_favorite_set, execution_start
from graph.services import workflow_create, workflow_delete
from tests.graph.builders import edge, node
from tests.media_files import pillow

pytestmark = [pytest.mark.django_db, pytest.mark.storage]

DAY = timezone.timedelta(days=1)


def graph(prompt: str = "p"):
    return ([node("text", "input:text", {"prompt": prompt}),
             node("gen", "generate:local_preview", {"seed": 7, "width": 256, "height": 192})],
            [edge("e1", "text", "prompt", "gen", "prompt")])


@pytest.fixture
def run(media_storage):
    """A finished run `age` old whose `gen` node made `files` images (with thumbnails)."""
    def make(team, *, age=timezone.timedelta(0), files=1, workflow=None) -> Execution:
        execution = execution_start(team=team, nodes=graph()[0], edges=graph()[1],
                                    workflow=workflow)
        gen = NodeRun.objects.get(execution=execution, node_id="gen")
        made = [asset_from_output(node_run=gen, simulated=False,
                                  output=OutputFile(pillow("PNG", (300, 200)), "image/png",
                                                    "png")) for _ in range(files)]
        NodeRun.objects.filter(pk=gen.pk).update(
            status=NodeStatus.COMPLETED, cache_key=f"key-{gen.pk}",
            outputs={"image": {"asset": str(made[0].pk),
                               "assets": [str(a.pk) for a in made]}})
        when = timezone.now() - age
        Execution.objects.filter(pk=execution.pk).update(status=ExecutionStatus.COMPLETED,
                                                         created_at=when)
        Asset.objects.filter(pk__in=[a.pk for a in made]).update(created_at=when)
        execution.refresh_from_db()
        return execution

    return make


def files_of(execution: Execution) -> list[Asset]:
    return list(Asset.objects.filter(node_run__execution=execution))


def all_names(assets) -> list[str]:
    return sorted(name for asset in assets for name in asset_file_names(asset))


def test_the_plans_keep_runs_7_30_90_days_and_enterprise_for_ever():
    assert [limits_for(p).retention_days for p in ("free", "starter", "pro", "enterprise")] == [
        7, 30, 90, None]
    assert django_settings.CELERY_BEAT_SCHEDULE["prune-expired-runs"]["task"] == (
        "executions.prune_expired")


def test_an_expired_run_goes_with_every_file_and_thumbnail_the_rest_stay(
        make_team, run, media_storage, django_capture_on_commit_callbacks):
    free, pro, enterprise = make_team("free"), make_team("pro"), make_team("enterprise")
    old = run(free, age=8 * DAY)
    recent = run(free, age=6 * DAY)
    pro_old = run(pro, age=8 * DAY)
    ancient = run(enterprise, age=1000 * DAY)
    doomed = all_names(files_of(old))
    assert len(doomed) == 3  # the image and its two thumbnails
    with django_capture_on_commit_callbacks(execute=True):
        pruned = retention.retention_prune()
    assert pruned.executions == 1 and pruned.files == 3
    assert not Execution.objects.filter(pk=old.pk).exists()
    assert not set(doomed) & set(media_storage.names())
    for kept in (recent, pro_old, ancient):
        assert Execution.objects.filter(pk=kept.pk).exists()
        assert set(all_names(files_of(kept))) <= set(media_storage.names())


def cached_poll_was_dropped(execution: Execution) -> bool:
    from executions import pollcache

    return pollcache.read(execution.pk) is None or pollcache.read(execution.pk).payload is None


def test_a_favourite_keeps_its_file_and_its_run_the_runs_other_files_go(
        make_team, run, media_storage, django_capture_on_commit_callbacks, key_client):
    team = make_team("free")
    execution = run(team, age=8 * DAY, files=2)
    polled = key_client(team).get(f"/api/v1/workflows/executions/{execution.pk}/poll")
    assert polled.status_code == 200
    from executions import pollcache

    assert pollcache.read(execution.pk).payload is not None  # cached
    favourite, other = files_of(execution)
    asset_favorite_set(asset=favourite, favorite=True)
    with django_capture_on_commit_callbacks(execute=True):
        pruned = retention.retention_prune()
    assert pruned.kept == 1 and pruned.assets == 1
    assert list(Asset.objects.filter(node_run__execution=execution)) == [favourite]
    # Its poll answer, cached before, is built again without the deleted file.
    assert cached_poll_was_dropped(execution)
    assert set(asset_file_names(favourite)) <= set(media_storage.names())
    assert not set(asset_file_names(other)) & set(media_storage.names())
    execution.refresh_from_db()
    assert execution.pruned_at is not None
    # The run lost a file: it is no cache hit any more.
    assert NodeRun.objects.get(execution=execution, node_id="gen").cache_key == ""
    # Unmarked, it goes on the next pass.
    asset_favorite_set(asset=favourite, favorite=False)
    with django_capture_on_commit_callbacks(execute=True):
        retention.retention_prune()
    assert not Execution.objects.filter(pk=execution.pk).exists()
    assert not set(asset_file_names(favourite)) & set(media_storage.names())


def test_a_file_a_saved_workflow_references_stays_until_the_workflow_is_deleted(
        make_team, make_user, run, media_storage, django_capture_on_commit_callbacks):
    from executions.assets import asset_url

    team = make_team("free")
    user = make_user(team=team)
    execution = run(team, age=8 * DAY)
    (output,) = files_of(execution)
    upload = asset_upload(team=team, data=pillow("PNG", (40, 30)), declared_mime="image/png")
    Asset.objects.filter(pk=upload.pk).update(created_at=timezone.now() - 8 * DAY)
    stray = asset_upload(team=team, data=pillow("PNG", (40, 30)), declared_mime="image/png")
    Asset.objects.filter(pk=stray.pk).update(created_at=timezone.now() - 8 * DAY)
    nodes = [node("img", "input:image", {"url": asset_url(upload)}),
             node("img2", "input:image", {"url": asset_url(output)})]
    workflow, _ = workflow_create(team=team, actor=principal_for_user(user), name="uses them",
                                  nodes=nodes, edges=[], strict=False)
    with django_capture_on_commit_callbacks(execute=True):
        retention.retention_prune()
    assert Asset.objects.filter(pk__in=[upload.pk, output.pk]).count() == 2
    assert not Asset.objects.filter(pk=stray.pk).exists()  # nothing references it
    assert not set(asset_file_names(stray)) & set(media_storage.names())
    with django_capture_on_commit_callbacks(execute=True):
        workflow_delete(workflow=workflow)
    with django_capture_on_commit_callbacks(execute=True):
        retention.retention_prune(now=timezone.now() + 2 * DAY)  # past the daily revisit
    assert not Asset.objects.filter(pk__in=[upload.pk, output.pk]).exists()
    assert media_storage.names() == []


def test_a_template_s_cover_and_the_files_its_graph_names_stay_until_it_is_deleted(
        make_team, make_user, run, media_storage, django_capture_on_commit_callbacks):
    from executions.assets import asset_url
    from graph.services import template_delete, template_save

    team = make_team("free")
    actor = principal_for_user(make_user(team=team))
    execution = run(team, age=8 * DAY)
    (cover,) = files_of(execution)
    upload = asset_upload(team=team, data=pillow("PNG", (40, 30)), declared_mime="image/png")
    Asset.objects.filter(pk=upload.pk).update(created_at=timezone.now() - 8 * DAY)
    workflow, _ = workflow_create(team=team, actor=actor, name="source", strict=False,
                                  nodes=[node("img", "input:image", {"url": asset_url(upload)})],
                                  edges=[])
    template = template_save(workflow=workflow, actor=actor, cover_asset_id=cover.pk)
    with django_capture_on_commit_callbacks(execute=True):
        workflow_delete(workflow=workflow)  # the template outlives the workflow it came from
    with django_capture_on_commit_callbacks(execute=True):
        retention.retention_prune()
    assert Asset.objects.filter(pk__in=[cover.pk, upload.pk]).count() == 2
    assert set(asset_file_names(cover)) <= set(media_storage.names())
    template_delete(template=template)
    with django_capture_on_commit_callbacks(execute=True):
        retention.retention_prune(now=timezone.now() + 2 * DAY)
    assert not Asset.objects.filter(pk__in=[cover.pk, upload.pk]).exists()


def test_a_client_app_s_cover_stays_until_the_app_is_deleted(
        make_team, make_user, run, media_storage, django_capture_on_commit_callbacks):
    from clientapps.services import app_create, app_delete

    team = make_team("free")
    actor = principal_for_user(make_user(team=team))
    nodes, edges = graph()
    workflow, _ = workflow_create(team=team, actor=actor, name="published", nodes=nodes,
                                  edges=edges, strict=False)
    execution = run(team, age=8 * DAY, workflow=workflow)  # past the Free plan's 7 days
    (cover,) = files_of(execution)
    app = app_create(workflow=workflow, actor=actor, title="Client", daily_credit_cap=10)
    assert app.cover_asset_id == cover.pk  # the workflow's last output
    with django_capture_on_commit_callbacks(execute=True):
        retention.retention_prune()
    assert Asset.objects.filter(pk=cover.pk).exists()
    assert set(asset_file_names(cover)) <= set(media_storage.names())
    app_delete(app=app)
    with django_capture_on_commit_callbacks(execute=True):
        retention.retention_prune(now=timezone.now() + 2 * DAY)
    assert not Asset.objects.filter(pk=cover.pk).exists()


def test_a_pinned_output_stays_while_a_saved_workflow_pins_it(
        make_team, make_user, run, media_storage, django_capture_on_commit_callbacks):
    from graph.services import workflow_patch_node

    team = make_team("free")
    user = make_user(team=team)
    nodes, edges = graph()
    workflow, _ = workflow_create(team=team, actor=principal_for_user(user), name="pins it",
                                  nodes=nodes, edges=edges, strict=False)
    pinned_run, other = run(team, age=8 * DAY), run(team, age=8 * DAY)
    workflow_patch_node(workflow=workflow, actor=principal_for_user(user), node_id="gen",
                        patch={"pinned": {"executionId": str(pinned_run.pk)}})
    with django_capture_on_commit_callbacks(execute=True):
        retention.retention_prune()
    assert len(files_of(pinned_run)) == 1  # no run has used the pin yet: the pin alone keeps it
    assert not Execution.objects.filter(pk=other.pk).exists()
    workflow_patch_node(workflow=workflow, actor=principal_for_user(user), node_id="gen",
                        patch={"pinned": None})
    with django_capture_on_commit_callbacks(execute=True):
        retention.retention_prune(now=timezone.now() + 2 * DAY)
    assert not Execution.objects.filter(pk=pinned_run.pk).exists()
    assert media_storage.names() == []


def test_a_file_a_kept_run_took_as_input_or_reused_from_the_cache_stays(
        make_team, run, django_capture_on_commit_callbacks):
    team = make_team("free")
    used = asset_upload(team=team, data=pillow("PNG", (40, 30)), declared_mime="image/png")
    Asset.objects.filter(pk=used.pk).update(created_at=timezone.now() - 20 * DAY,
                                            last_used_at=timezone.now() - 2 * DAY)
    origin = run(team, age=8 * DAY)
    reuser = run(team, age=1 * DAY)
    NodeRun.objects.filter(execution=reuser, node_id="gen").update(
        cached_from=NodeRun.objects.get(execution=origin, node_id="gen"))
    with django_capture_on_commit_callbacks(execute=True):
        retention.retention_prune()
    assert Asset.objects.filter(pk=used.pk).exists()
    assert Execution.objects.filter(pk=origin.pk).exists() and files_of(origin)


def test_a_pass_works_in_bounded_batches(make_team, run, django_capture_on_commit_callbacks):
    team = make_team("free")
    runs = [run(team, age=(8 + i) * DAY) for i in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        first = retention.retention_prune(batch=2, budget=0)
    assert first.executions == 2
    assert Execution.objects.filter(pk__in=[r.pk for r in runs]).count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        retention.retention_prune(batch=2)
    assert not Execution.objects.filter(pk__in=[r.pk for r in runs]).exists()


def test_deleting_a_workflow_deletes_its_runs_files_but_not_its_favourites(
        make_team, make_user, run, media_storage, django_capture_on_commit_callbacks,
        monkeypatch):
    team = make_team("enterprise")  # no retention: only the delete removes anything
    user = make_user(team=team)
    workflow, _ = workflow_create(team=team, actor=principal_for_user(user), name="w",
                                  nodes=graph()[0], edges=graph()[1])
    plain, starred = run(team, workflow=workflow), run(team, workflow=workflow)
    other = run(team)
    (favourite,) = files_of(starred)
    asset_favorite_set(asset=favourite, favorite=True)
    sent = []
    monkeypatch.setattr(tasks.prune_workflow, "apply_async",
                        lambda args, **kw: sent.append(args[0]))
    with django_capture_on_commit_callbacks(execute=True):
        workflow_delete(workflow=workflow)
    assert sent == [str(workflow.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        tasks.prune_workflow(sent[0])  # what the worker runs
    assert not Execution.objects.filter(pk=plain.pk).exists()
    assert files_of(starred) == [favourite]
    assert set(asset_file_names(favourite)) <= set(media_storage.names())
    assert Execution.objects.filter(pk=other.pk).exists() and files_of(other)


def test_delete_a_run_through_the_api(team, other_team, key_client, run, media_storage,
                                      django_capture_on_commit_callbacks):
    api = key_client(team)
    done = run(team, files=2)
    starred, plain = files_of(done)
    asset_favorite_set(asset=starred, favorite=True)
    assert key_client(other_team).delete(
        f"/api/v1/workflows/executions/{done.pk}").status_code == 404
    assert key_client(team, scopes=["executions:read"]).delete(
        f"/api/v1/workflows/executions/{done.pk}").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/api/v1/workflows/executions/{done.pk}")
    assert response.status_code == 204
    assert api.get(f"/api/v1/workflows/executions/{done.pk}/poll").status_code == 404
    assert not set(asset_file_names(plain)) & set(media_storage.names())
    # The favourite stays among the team's assets.
    starred.refresh_from_db()
    assert starred.node_run_id is None
    assert set(asset_file_names(starred)) <= set(media_storage.names())
    going = run(team)
    Execution.objects.filter(pk=going.pk).update(status=ExecutionStatus.RUNNING)
    response = api.delete(f"/api/v1/workflows/executions/{going.pk}")
    assert response.status_code == 409 and response.json()["code"] == "execution_active"


def test_admin_shows_each_teams_storage_use(make_team, run, admin_client):
    team = make_team("free", name="Heavy")
    execution = run(team, files=2)
    assets = files_of(execution)
    expected = sum(a.size + a.renditions_size for a in assets)
    response = admin_client.get("/admin/executions/teamstorage/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Heavy" in page and f"{expected:,} bytes" in page
    assert "<td class=\"field-file_count\">6</td>" in page  # 2 files + 2 × 2 thumbnails


def test_admin_previews_an_asset_by_its_thumbnail_and_deletes_its_files(
        make_team, run, admin_client, media_storage, django_capture_on_commit_callbacks):
    team = make_team("free")
    (asset,) = files_of(run(team))
    page = admin_client.get(f"/admin/executions/asset/{asset.pk}/change/").content.decode()
    assert asset.thumbnail.name in page and f'src="{asset.file.name}' not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/executions/asset/{asset.pk}/delete/",
                                     {"post": "yes"})
    assert response.status_code == 302
    assert not Asset.objects.filter(pk=asset.pk).exists()
    assert not set(asset_file_names(asset)) & set(media_storage.names())


def test_deleting_runs_in_admin_deletes_their_files(make_team, run, admin_client, media_storage,
                                                    django_capture_on_commit_callbacks):
    team = make_team("enterprise")
    first, second = run(team), run(team)
    names = all_names(files_of(first) + files_of(second))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/executions/execution/", {
            "action": "delete_selected", "_selected_action": [str(first.pk), str(second.pk)],
            "post": "yes"})
    assert response.status_code == 302
    assert not Execution.objects.filter(pk__in=[first.pk, second.pk]).exists()
    assert not set(names) & set(media_storage.names())
