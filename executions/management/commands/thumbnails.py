from django.core.management.base import BaseCommand

from executions.assets import asset_renditions_make
from executions.models import Asset


class Command(BaseCommand):
    help = ("Make the thumbnails (and video posters) of stored files that have none: those "
            "stored before thumbnails existed. Newest first, at most --limit files a run.")

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=1000)

    def handle(self, *args, limit, **options):
        pending = Asset.objects.filter(thumbnail="").order_by("-created_at")
        made = failed = 0
        for pk in pending.values_list("pk", flat=True)[:max(0, limit)]:
            if asset_renditions_make(asset_id=pk):
                made += 1
            else:
                failed += 1
        left = pending.count()
        self.stdout.write(f"Thumbnails made for {made} file(s); {failed} could not be made; "
                          f"{left} file(s) without thumbnails remain.")
