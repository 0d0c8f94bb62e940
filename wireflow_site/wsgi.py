"""WSGI entry point (daphne serves ASGI in production; this one serves tools and tests)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wireflow_site.settings")
application = get_wsgi_application()
