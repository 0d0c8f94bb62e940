"""The Celery application; tasks are discovered in each app's tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wireflow_site.settings")

app = Celery("wireflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="wireflow.ping")
def ping() -> str:
    """A task that does nothing: health checks, and the bare round trip benchmarks compare to."""
    return "pong"
