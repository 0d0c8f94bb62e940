from django.apps import AppConfig


class ExecutionsConfig(AppConfig):
    name = "executions"
    verbose_name = "Executions"

    def ready(self) -> None:
        # Imported here, as Django requires: these modules import models.
        from django.db.models import Exists, OuterRef

        from executions import consumers, dispatch, events, pollcache, webhooks
        from executions.models import Execution
        from graph.services import on_workflow_deleted
        from graph.versions import on_version_in_use, on_version_written

        pollcache.connect()
        # Transport subscribes to the scheduler's events; the scheduler calls none of it.
        events.on_heads(pollcache.advance)
        events.on_events(consumers.events_publish)
        events.on_finished(webhooks.deliveries_create)
        # Each save is told to the editors that have the workflow open.
        on_version_written(events.emit_workflow_saved)
        # A deleted workflow's runs and files go (after the same checks as retention's).
        on_workflow_deleted(lambda workflow: dispatch.workflow_files_delete_on_commit(
            workflow.pk))
        # A version a run was started from is kept: the run's history links to it.
        on_version_in_use(lambda versions: versions.filter(
            ~Exists(Execution.objects.filter(workflow_version=OuterRef("pk")))))
