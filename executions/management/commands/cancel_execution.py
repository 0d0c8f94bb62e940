from django.core.management.base import BaseCommand, CommandError

from executions.models import Execution
from executions.services import execution_cancel


class Command(BaseCommand):
    help = "Cancel a run: queued and running nodes stop and remote jobs are asked to stop."

    def add_arguments(self, parser):
        parser.add_argument("execution_id")

    def handle(self, *args, execution_id, **options):
        execution = Execution.objects.filter(pk=execution_id).first()
        if execution is None:
            raise CommandError(f"No execution {execution_id}")
        execution = execution_cancel(execution=execution)
        self.stdout.write(f"Execution {execution.pk}: {execution.status}")
