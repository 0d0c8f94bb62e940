"""The Celery application; tasks are discovered in each app's tasks.py."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wireflow_site.settings")

app = Celery("wireflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def recycle_database_connections(**_kwargs) -> None:
    """What Django does around a request: drop connections that broke or grew older than
    CONN_MAX_AGE, keep the rest (settings.CELERY_DB_REUSE_MAX stops Celery closing them all)."""
    from django.db import close_old_connections

    close_old_connections()


@app.task(name="wireflow.ping")
def ping() -> str:
    """A task that does nothing: health checks, and the bare round trip benchmarks compare to."""
    return "pong"
