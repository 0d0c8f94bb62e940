"""Input shapes of the execution endpoints (outputs are built by selectors as api.md says)."""

from rest_framework import serializers

from graph.api.serializers import public_webhook_url


class ExecuteIn(serializers.Serializer):
    nodes = serializers.ListField(child=serializers.JSONField(), required=False)
    edges = serializers.ListField(child=serializers.JSONField(), required=False)
    targetNodeId = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                         max_length=200)
    force = serializers.BooleanField(required=False, default=False)
    triggerData = serializers.JSONField(required=False, allow_null=True)
    inputs = serializers.DictField(required=False, allow_empty=True)
    webhookUrl = serializers.URLField(required=False, allow_blank=True, max_length=500)
    batch = serializers.ListField(child=serializers.DictField(allow_empty=True), required=False,
                                  min_length=1, max_length=500)

    def validate_webhookUrl(self, value: str) -> str:
        return public_webhook_url(value)


class RunIn(serializers.Serializer):
    inputs = serializers.DictField(required=False, allow_empty=True)


class ExecutionRunOut(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    startTime = serializers.CharField(allow_null=True)
    endTime = serializers.CharField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    batchId = serializers.CharField(allow_null=True)
    runIndexInBatch = serializers.IntegerField(allow_null=True)
    nodeRuns = serializers.ListField(child=serializers.DictField())


class ExecuteOut(serializers.Serializer):
    executionId = serializers.CharField()
    status = serializers.CharField()
    workflowId = serializers.CharField()
    batchId = serializers.CharField(allow_null=True)
    executionRuns = ExecutionRunOut(many=True)


class PollOut(serializers.Serializer):
    executionId = serializers.CharField()
    status = serializers.ChoiceField(["QUEUED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"])
    progress = serializers.FloatField()
    nodeResults = serializers.DictField()
    nodeStates = serializers.ListField(child=serializers.DictField())
    finalOutput = serializers.DictField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    credits = serializers.DictField()
    startTime = serializers.CharField(allow_null=True)
    endTime = serializers.CharField(allow_null=True)
