"""Check the configured vendor keys and model ids without generating anything.

For each remote provider: whether a key is set, and for every model the catalog runs on it,
the vendor's answer to its cheapest documented call (Gemini and the LLM vendors: the model
lookup; BFL and fal: an empty request, which the vendor refuses before it makes, or bills, a
job). Exits 1 when a key
that is set does not work or a model id is unknown.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from executions.providers import get_provider
from executions.providers.llm import KEY_ENVS
from graph.catalog import catalog
from graph.catalog.llm import MODELS


class Command(BaseCommand):
    help = "Check each configured vendor key and the model ids the catalog calls."

    def add_arguments(self, parser):
        parser.add_argument("aliases", nargs="*", help="providers to check (default: all)")

    def handle(self, *args, aliases, **options):
        remote = {alias: config for alias, config in settings.PROVIDERS.items()
                  if {"api_key", "endpoints"} & set(config.get("OPTIONS", {}))}
        unknown = set(aliases) - set(remote)
        if unknown:
            raise CommandError(f"No remote provider named {', '.join(sorted(unknown))}; "
                               f"configured: {', '.join(sorted(remote))}")
        broken = 0
        for alias in aliases or sorted(remote):
            opts = remote[alias]["OPTIONS"]
            if "endpoints" in opts:  # one provider, an endpoint per vendor (LLM Chat)
                broken += self.check_endpoints(alias, opts["endpoints"])
                continue
            models = sorted({spec.model for spec in catalog.all()
                             if spec.provider == alias and spec.model} |
                            {route.model for spec in catalog.all() for route in spec.routes
                             if route.provider == alias and route.model} |
                            # a route's edit app too (fal-ai/flux-2-pro/edit)
                            {route.declaration.edit.endpoint for spec in catalog.all()
                             for route in spec.routes if route.provider == alias
                             and getattr(route.declaration, "edit", None)})
            where = opts.get("base_url", "")
            if not opts.get("api_key"):
                self.stdout.write(f"{alias}: no key ({opts.get('key_env', 'key')} is not set); "
                                  f"not checked: {', '.join(models)}")
                continue
            self.stdout.write(f"{alias}: {where}")
            broken += self.check_models(alias, models)
        if broken:
            raise CommandError(f"{broken} check(s) failed")

    def check_endpoints(self, alias: str, endpoints: dict) -> int:
        """Each vendor's key and its listed chat models (GET /models/<id>: free); the custom
        server's models are whatever it serves, so it has nothing listed to check."""
        broken = 0
        for vendor, endpoint in sorted(endpoints.items()):
            models = sorted(m.model_id for m in MODELS.values() if m.vendor == vendor)
            if not models:
                continue
            if not endpoint.get("api_key"):
                self.stdout.write(f"{alias} ({vendor}): no key ({KEY_ENVS[vendor]} is not set); "
                                  f"not checked: {', '.join(models)}")
                continue
            self.stdout.write(f"{alias} ({vendor}): {endpoint.get('base_url', '')}")
            broken += self.check_models(alias, models)
        return broken

    def check_models(self, alias: str, models: list[str]) -> int:
        """Ask the provider about each model id, one line each; how many failed."""
        provider = get_provider(alias)
        broken = 0
        for model in models:
            problem = provider.model_check(model)
            broken += problem is not None
            self.stdout.write(f"  {'FAIL' if problem else 'ok  '} {model}"
                              + (f": {problem}" if problem else ""))
        return broken
