from django.apps import AppConfig


class ExecutionsConfig(AppConfig):
    name = "executions"
    verbose_name = "Executions"

    def ready(self) -> None:
        # Imported here, as Django requires: these modules import models.
        from executions import consumers, events, pollcache, webhooks

        pollcache.connect()
        # Transport subscribes to the scheduler's events; the scheduler calls none of it.
        events.on_heads(pollcache.advance)
        events.on_events(consumers.events_publish)
        events.on_finished(webhooks.deliveries_create)
