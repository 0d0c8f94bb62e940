"""Providers by alias: one per process, made once even when a worker's threads all ask for it
at the same moment (as they do when it starts), and made anew when PROVIDERS changes."""

from __future__ import annotations

import threading
import time

from executions.providers import Provider, get_provider

made: list[Provider] = []


class SlowToMake(Provider):
    alias = "slow"

    def __init__(self, **options) -> None:
        super().__init__(**options)
        made.append(self)
        time.sleep(0.05)  # an HTTP client's SSL context takes ~10 ms of CPU; longer here


def test_threads_asking_at_once_share_one_provider_made_once(settings):
    backend = {"BACKEND": f"{__name__}.SlowToMake", "OPTIONS": {"max_concurrency": 5}}
    settings.PROVIDERS = {**settings.PROVIDERS, "slow": backend}
    made.clear()
    together = threading.Barrier(8)
    got = []

    def ask() -> None:
        together.wait()
        got.append(get_provider("slow"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1 and len(got) == 8 and all(p is made[0] for p in got)
    assert made[0].max_concurrency == 5
    settings.PROVIDERS = {**settings.PROVIDERS,
                          "slow": {**backend, "OPTIONS": {"max_concurrency": 3}}}
    assert get_provider("slow").max_concurrency == 3 and len(made) == 2
