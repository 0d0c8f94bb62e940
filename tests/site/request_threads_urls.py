"""A URL conf for test_request_threads: views that say which thread ran them."""

import threading
import time

from django.http import JsonResponse
from django.urls import path

gate = threading.Event()


def whoami(request):
    return JsonResponse({"thread": threading.get_ident()})


def blocked(request):
    # Stands for a request waiting on another machine (an object store, an SMTP server).
    gate.wait(10)
    return JsonResponse({"thread": threading.get_ident()})


def slow(request):
    time.sleep(0.05)
    return JsonResponse({"thread": threading.get_ident()})


urlpatterns = [path("whoami", whoami), path("blocked", blocked), path("slow", slow)]
