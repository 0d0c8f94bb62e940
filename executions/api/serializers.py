"""Input and output shapes of the execution endpoints.

The views and selectors build the response dicts; the output serializers here describe them for
the OpenAPI schema (and so for the schema conformance tests), field for field. A help text that
starts with "(addition)" marks a field api.md does not list: ours, on top of Wireflow's shape.
"""

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from executions.models import Asset, Execution, ExecutionStatus
from executions.provenance import ZIP_MAX_FILES
from graph.api.serializers import public_webhook_url
from wireflow_site.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictUrlField,
)

NODE_STATUSES = "PENDING, QUEUED, RUNNING, COMPLETED, CACHED, FAILED, SKIPPED or CANCELLED"


ITERATOR_CONFIGS_HELP = ('Items for List nodes in this run: {nodeId: {"items": [...]}}, '
                         '{nodeId: [...]} or [{"nodeId", "items"}]; each item fans the List\'s '
                         'downstream nodes out once.')


class ExecuteIn(serializers.Serializer):
    nodes = serializers.ListField(child=serializers.JSONField(), required=False)
    edges = serializers.ListField(child=serializers.JSONField(), required=False)
    targetNodeId = StrictCharField(required=False, allow_null=True, allow_blank=True,
                                         max_length=200)
    force = StrictBooleanField(required=False, default=False)
    triggerData = serializers.JSONField(required=False, allow_null=True)
    inputs = serializers.DictField(required=False, allow_empty=True)
    webhookUrl = StrictUrlField(required=False, allow_blank=True, max_length=500)
    batch = serializers.ListField(child=serializers.DictField(allow_empty=True), required=False,
                                  min_length=1, max_length=500)
    iteratorConfigs = serializers.JSONField(required=False, allow_null=True,
                                            help_text=ITERATOR_CONFIGS_HELP)

    def validate_webhookUrl(self, value: str) -> str:
        return public_webhook_url(value)


class RunIn(serializers.Serializer):
    inputs = serializers.DictField(required=False, allow_empty=True)
    iteratorConfigs = serializers.JSONField(
        required=False, allow_null=True,
        help_text=f"(addition) As on execute. {ITERATOR_CONFIGS_HELP}")


THUMBNAIL_HELP = ("(addition) Signed like `url`: a WebP thumbnail, 768 px on the long side (of "
                  "the poster frame, for a video), made once when the file was stored; null "
                  "for a file stored before thumbnails existed (until `manage.py thumbnails` "
                  "makes them) or one whose thumbnail could not be made, and for an upload "
                  "in the moments before a worker has made it.")

# {"256": url, "768": url}: field names that are not identifiers, so declared by mapping.
ThumbnailsOut = type("ThumbnailsOut", (serializers.Serializer,), {
    "__doc__": "(addition) Signed URLs of the WebP thumbnails by long side in px.",
    "256": serializers.URLField(help_text="256 px on the long side (grids, history)."),
    "768": serializers.URLField(help_text="768 px on the long side (previews): thumbnailUrl."),
})


def thumbnails_field() -> serializers.Serializer:
    return ThumbnailsOut(allow_null=True, help_text="(addition) Both thumbnails, by long side "
                         "in px; null when thumbnailUrl is.")


def poster_field(help_text: str = "") -> serializers.URLField:
    return serializers.URLField(allow_null=True, help_text=help_text or (
        "(addition) Signed like `url`: the video's first frame as a WebP image, at most 1280 "
        "px on the long side; null when it has none (see thumbnailUrl)."))


class RunMediaOut(serializers.Serializer):
    url = serializers.URLField(help_text="Ours: vendor URLs expire within minutes.")
    thumbnailUrl = serializers.URLField(allow_null=True, help_text=THUMBNAIL_HELP)
    thumbnails = thumbnails_field()
    id = serializers.UUIDField(help_text="(addition) The asset's id.")
    mime = serializers.CharField(help_text="(addition) The file's media type.")
    path = serializers.CharField(help_text="(addition) The file's name in our storage.")
    simulated = serializers.BooleanField(
        required=False, help_text="(addition) Present, and true, only when the simulator made it.")


class RunImageOut(RunMediaOut):
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)


class RunVideoOut(RunMediaOut):
    posterUrl = poster_field()
    duration = serializers.FloatField(allow_null=True, help_text="Seconds.")
    width = serializers.IntegerField(allow_null=True, help_text="(addition)")
    height = serializers.IntegerField(allow_null=True, help_text="(addition)")
    frames = serializers.IntegerField(allow_null=True, help_text="(addition) Frame count.")


class RunAudioOut(RunMediaOut):
    duration = serializers.FloatField(allow_null=True, help_text="(addition) Seconds.")
    channels = serializers.IntegerField(allow_null=True, help_text="(addition)")
    sampleRate = serializers.IntegerField(allow_null=True, help_text="(addition) Hz.")
    waveformUrl = serializers.URLField(
        allow_null=True, help_text="(addition) Signed like `url`: the sound's waveform as a "
        "transparent 768×192 WebP image (also its thumbnailUrl); null when it has none.")


class NodeRunOutputOut(serializers.Serializer):
    images = RunImageOut(many=True)
    videos = RunVideoOut(many=True)
    audios = RunAudioOut(many=True, help_text="(addition) Sounds the node made.")
    text = serializers.CharField(allow_null=True)


class NodeRunOut(serializers.Serializer):
    nodeId = serializers.CharField()
    nodeType = serializers.CharField()
    label = serializers.CharField(allow_blank=True, help_text="(addition)")
    status = serializers.CharField(help_text=NODE_STATUSES)
    progress = serializers.FloatField(min_value=0, max_value=1)
    output = NodeRunOutputOut()
    error = serializers.CharField(allow_null=True)
    credits = serializers.IntegerField(help_text="Charged for this node: only when it succeeded.")
    seed = serializers.IntegerField(
        allow_null=True, help_text="(addition) The seed a generate node used, the one drawn when "
        "its setting is random (lock it to reproduce the result from the cache); null for nodes "
        "without a seed.")
    cached = serializers.BooleanField(help_text="(addition) Its result came from the cache.")
    pinned = serializers.BooleanField(
        help_text="(addition) Its output is the one pinned on the node (data.pinned): not run, "
        "0 credits.")
    simulated = serializers.BooleanField(help_text="(addition) The simulator ran it.")
    itemIndex = serializers.IntegerField(
        allow_null=True, help_text="(addition) For a node a List fans out: which item of the "
        "list this run is (0-based; one run per item); null for any other node.")
    startTime = serializers.DateTimeField(allow_null=True)
    endTime = serializers.DateTimeField(allow_null=True)


class PinnedFromOut(serializers.Serializer):
    executionId = serializers.UUIDField()


class StaleDependencyOut(serializers.Serializer):
    nodeId = serializers.CharField()
    nodeLabel = serializers.CharField()
    reason = serializers.ChoiceField(["pinned_output_outdated"])
    pinnedFrom = PinnedFromOut()
    changedNodes = serializers.ListField(
        child=serializers.CharField(),
        help_text="The node and upstream nodes whose settings or wiring differ from the run "
        "the pinned output was made in.")
    message = serializers.CharField()


STALE_HELP = ("(addition) Pinned nodes whose settings or upstream graph changed since their "
              "output was made: the run used the pinned output anyway. Cached results are "
              "keyed by their inputs and are never stale.")


class FanOutItemsOut(serializers.Serializer):
    total = serializers.IntegerField(help_text="Items in the list.")
    completed = serializers.IntegerField(required=False)
    failed = serializers.IntegerField(help_text="Items that failed (or were skipped).")
    running = serializers.IntegerField(required=False)
    waiting = serializers.IntegerField(required=False)
    gathered = serializers.IntegerField(required=False, help_text="A Collect node's items.")


class NodeStateOut(serializers.Serializer):
    nodeId = serializers.CharField()
    label = serializers.CharField(allow_blank=True)
    status = serializers.CharField(help_text=NODE_STATUSES)
    error = serializers.CharField(allow_null=True)
    outputUrl = serializers.URLField(allow_null=True)
    outputUrls = serializers.ListField(child=serializers.URLField())
    thumbnailUrl = serializers.URLField(
        allow_null=True, help_text="(addition) The first output's thumbnailUrl (see images).")
    thumbnailUrls = serializers.ListField(
        child=serializers.URLField(allow_null=True),
        help_text="(addition) Each output's thumbnailUrl, in the order of outputUrls.")
    posterUrl = poster_field("(addition) The first output's posterUrl, when it is a video.")
    text = serializers.CharField(allow_null=True)
    seed = serializers.IntegerField(
        allow_null=True, help_text="(addition) The seed a generate node used, the one drawn when "
        "its setting is random (lock it to reproduce the result from the cache); null for nodes "
        "without a seed.")
    texts = serializers.ListField(
        child=serializers.CharField(allow_null=True), required=False,
        help_text="(addition) A fanned node: each item's text, in item order.")
    items = FanOutItemsOut(
        required=False, help_text="(addition) A fanned node: how its items stand; a Collect "
        "node: how many items it gathered and how many failed.")


class NodeResultsOut(serializers.Serializer):
    nodeRuns = NodeRunOut(many=True)


class FinalOutputOut(serializers.Serializer):
    url = serializers.URLField()
    thumbnailUrl = serializers.URLField(allow_null=True, help_text=THUMBNAIL_HELP)
    posterUrl = poster_field("(addition) The video's poster frame, when the output is a "
                             "video; else null.")


class RunCreditsOut(serializers.Serializer):
    charged = serializers.IntegerField()
    estimated = serializers.IntegerField(help_text="(addition) The estimate taken at the start.")


class PollOut(serializers.Serializer):
    executionId = serializers.UUIDField()
    workflowId = serializers.UUIDField(allow_null=True, help_text="(addition)")
    status = serializers.ChoiceField(ExecutionStatus.values)
    progress = serializers.FloatField(min_value=0, max_value=1)
    nodeResults = NodeResultsOut()
    nodeStates = NodeStateOut(many=True)
    finalOutput = FinalOutputOut(allow_null=True)
    error = serializers.CharField(allow_null=True)
    credits = RunCreditsOut()
    simulated = serializers.BooleanField(help_text="(addition) The simulator ran it.")
    staleDependencies = StaleDependencyOut(many=True, help_text=STALE_HELP)
    seq = serializers.IntegerField(
        help_text="(addition) Goes up with every state change of the run.")
    startTime = serializers.DateTimeField(allow_null=True)
    endTime = serializers.DateTimeField(allow_null=True)
    createdAt = serializers.DateTimeField(help_text="(addition)")


class ExecutionGraphResult(serializers.Serializer):
    executionId = serializers.UUIDField()
    workflowId = serializers.UUIDField(allow_null=True)
    nodes = serializers.ListField(child=serializers.JSONField(),
                                  help_text="The workflow's nodes as the run started with them.")
    edges = serializers.ListField(child=serializers.JSONField())
    createdAt = serializers.DateTimeField()


class ExecutionGraphOut(serializers.Serializer):
    data = ExecutionGraphResult()


class ExecutionRunOut(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(ExecutionStatus.values)
    startTime = serializers.DateTimeField(allow_null=True)
    endTime = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    batchId = serializers.UUIDField(allow_null=True)
    runIndexInBatch = serializers.IntegerField(allow_null=True)
    nodeRuns = NodeRunOut(many=True)
    staleDependencies = StaleDependencyOut(many=True, help_text=STALE_HELP)


class ExecuteOut(serializers.Serializer):
    executionId = serializers.UUIDField(help_text="The first run's id.")
    status = serializers.ChoiceField(ExecutionStatus.values)
    workflowId = serializers.UUIDField()
    batchId = serializers.UUIDField(allow_null=True)
    executionRuns = ExecutionRunOut(many=True)
    staleDependencies = StaleDependencyOut(many=True, help_text=STALE_HELP + " Of the first run.")


class RunInputOut(serializers.Serializer):
    nodeId = serializers.CharField()
    label = serializers.CharField()
    type = serializers.CharField(help_text="The media type the input node provides.")
    required = serializers.BooleanField()
    description = serializers.CharField(allow_blank=True)
    default = serializers.JSONField(allow_null=True, help_text="The node's current value.")


class RunInputsOut(serializers.Serializer):
    inputs = RunInputOut(many=True)


class RunStartedResult(serializers.Serializer):
    executionId = serializers.UUIDField()
    status = serializers.ChoiceField(ExecutionStatus.values)


class RunStartedOut(serializers.Serializer):
    data = RunStartedResult()


class ChargedCreditsOut(serializers.Serializer):
    charged = serializers.IntegerField(help_text="(addition)")


class ExecutionAppOut(serializers.Serializer):
    id = serializers.UUIDField(help_text="(addition)")
    name = serializers.CharField(help_text="(addition) The app's title when the run started.")


class ExecutionItemOut(serializers.Serializer):
    executionId = serializers.UUIDField(help_text="(addition)")
    workflowId = serializers.UUIDField(allow_null=True, help_text="(addition)")
    status = serializers.ChoiceField(ExecutionStatus.values, help_text="(addition)")
    trigger = serializers.ChoiceField(Execution.Trigger.values,
                                      help_text="(addition) What started the run.")
    app = ExecutionAppOut(allow_null=True, help_text="(addition) The client app that started "
                          "it (trigger `app`), else null.")
    error = serializers.CharField(allow_null=True, help_text="(addition)")
    credits = ChargedCreditsOut(help_text="(addition)")
    durationSeconds = serializers.FloatField(allow_null=True, help_text="(addition)")
    thumbnailUrl = serializers.URLField(
        allow_null=True, help_text="(addition) The run's first image output, small: its 768 px "
        "WebP thumbnail (the image itself for one stored before thumbnails existed).")
    simulated = serializers.BooleanField(help_text="(addition)")
    createdAt = serializers.DateTimeField(help_text="(addition)")
    startTime = serializers.DateTimeField(allow_null=True, help_text="(addition)")
    endTime = serializers.DateTimeField(allow_null=True, help_text="(addition)")


class ExecutionListOut(serializers.Serializer):
    executions = ExecutionItemOut(many=True, help_text="(addition) Newest first.")
    total = serializers.IntegerField(help_text="(addition) Runs matching the filters.")
    limit = serializers.IntegerField(help_text="(addition)")
    offset = serializers.IntegerField(help_text="(addition)")


class EstimateLineOut(serializers.Serializer):
    nodeId = serializers.CharField()
    nodeLabel = serializers.CharField()
    model = serializers.CharField()
    credits = serializers.IntegerField()
    unitCredits = serializers.FloatField()
    iterations = serializers.IntegerField()
    bound = serializers.ChoiceField(
        choices=("ceiling", "floor"), required=False,
        help_text="(addition) ceiling: quoted at the most the node can cost (charged what it "
        "uses); floor: one item of a list made during the run. Absent when exact.")


class EstimateResult(serializers.Serializer):
    workflowId = serializers.UUIDField()
    estimatedCredits = serializers.IntegerField()
    availableCredits = serializers.IntegerField(
        allow_null=True, help_text="The team's balance; null unless the caller may read usage.")
    sufficient = serializers.BooleanField()
    estimateComplete = serializers.BooleanField()
    breakdown = EstimateLineOut(many=True)
    warnings = serializers.ListField(child=serializers.CharField())


class EstimateOut(serializers.Serializer):
    data = EstimateResult()


class WebhookRotatedResult(serializers.Serializer):
    webhookId = serializers.CharField(help_text="(addition) The new webhookId.")
    webhookUrl = serializers.URLField(help_text="(addition) The new trigger URL.")


class WebhookRotatedOut(serializers.Serializer):
    data = WebhookRotatedResult()


class BatchRunOut(serializers.Serializer):
    id = serializers.UUIDField(help_text="(addition)")
    runIndexInBatch = serializers.IntegerField(help_text="(addition)")
    status = serializers.ChoiceField(ExecutionStatus.values, help_text="(addition)")
    error = serializers.CharField(allow_null=True, help_text="(addition)")


class BatchOut(serializers.Serializer):
    batchId = serializers.UUIDField(help_text="(addition)")
    workflowId = serializers.UUIDField(allow_null=True,
                                       help_text="(addition) null once the workflow is deleted.")
    status = serializers.CharField(help_text="(addition) RUNNING, COMPLETED or FAILED.")
    total = serializers.IntegerField(help_text="(addition) Items in the batch.")
    counts = serializers.DictField(child=serializers.IntegerField(),
                                   help_text="(addition) Latest runs per status.")
    runs = BatchRunOut(many=True, help_text="(addition) The latest run of each item.")


class BatchDetailOut(serializers.Serializer):
    data = BatchOut()


class BatchRetryIn(serializers.Serializer):
    runIndexes = serializers.ListField(
        child=StrictIntegerField(min_value=0), required=False, min_length=1, max_length=500,
        help_text="(addition) Retry only these items (each must have failed or been "
        "cancelled); without it, every failed item.")

    closed = True


class BatchRetriedResult(BatchOut):
    retried = ExecutionRunOut(many=True, help_text="(addition) The runs started again.")


class BatchRetryOut(serializers.Serializer):
    data = BatchRetriedResult()


class WebhookTriggerIn(serializers.Serializer):
    """Any JSON value, usually an object. An object becomes the run's triggerData, and its keys
    that are ids of input nodes set those nodes' values; (addition) its `iteratorConfigs` key,
    in any form execute takes, sets List nodes' items. Any other value is kept as
    `{"body": value}`."""


class WebhookTriggerInSchema(OpenApiSerializerExtension):
    """WebhookTriggerIn has no fields to declare: describe it as the free-form JSON it is
    (drf-spectacular would otherwise drop a serializer without fields from the schema)."""

    target_class = WebhookTriggerIn

    def map_serializer(self, auto_schema, direction):
        return {"description": WebhookTriggerIn.__doc__.replace("\n    ", " ")}


class WebhookInfoOut(serializers.Serializer):
    workflowId = serializers.UUIDField()
    name = serializers.CharField()
    isActive = serializers.BooleanField()
    message = serializers.CharField()


class WebhookTriggeredOut(serializers.Serializer):
    executionId = serializers.UUIDField()
    status = serializers.CharField(help_text="Always `queued`.")
    message = serializers.CharField()
    statusUrl = serializers.URLField(
        help_text="Read-only status of this run, with its secret: no API key needed.")


class MediaUploadFileIn(serializers.Serializer):
    file = serializers.FileField(help_text="PNG, JPEG, WebP, GIF or MP4.")


class MediaUploadUrlIn(serializers.Serializer):
    url = serializers.URLField(help_text="Fetched by us: public addresses only.")


class MediaOut(serializers.Serializer):
    url = serializers.URLField()
    id = serializers.UUIDField()
    type = serializers.ChoiceField(Asset.Kind.values)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    mime = serializers.CharField(help_text="(addition)")
    size = serializers.IntegerField(help_text="(addition) Bytes.")
    createdAt = serializers.DateTimeField(help_text="(addition)")
    thumbnailUrl = serializers.URLField(allow_null=True, help_text=THUMBNAIL_HELP)
    thumbnails = thumbnails_field()
    posterUrl = poster_field()
    duration = serializers.FloatField(allow_null=True,
                                      help_text="(addition) Seconds (video and audio).")


class MediaUploadOut(serializers.Serializer):
    data = MediaOut()


class MediaListOut(serializers.Serializer):
    data = MediaOut(many=True, help_text="The team's uploads, newest first (at most 200).")


# --- assets (addition) -----------------------------------------------------------------------

class RanByOut(serializers.Serializer):
    type = serializers.ChoiceField(["user", "apiKey", "webhook"],
                                   help_text="(addition) A member, an API key or a trigger.")
    id = serializers.CharField(allow_null=True, help_text="(addition)")
    name = serializers.CharField(help_text="(addition) The username or the key's name.")


class AssetOut(serializers.Serializer):
    id = serializers.UUIDField(help_text="(addition)")
    kind = serializers.ChoiceField(["output", "upload"], help_text="(addition)")
    mediaType = serializers.ChoiceField(Asset.Kind.values, help_text="(addition)")
    mime = serializers.CharField(help_text="(addition)")
    url = serializers.URLField(help_text="(addition) Signed; valid MEDIA_URL_LIFETIME.")
    thumbnailUrl = serializers.URLField(allow_null=True, help_text=THUMBNAIL_HELP)
    thumbnails = thumbnails_field()
    posterUrl = poster_field()
    width = serializers.IntegerField(allow_null=True, help_text="(addition)")
    height = serializers.IntegerField(allow_null=True, help_text="(addition)")
    duration = serializers.FloatField(allow_null=True,
                                      help_text="(addition) Seconds (video and audio).")
    size = serializers.IntegerField(help_text="(addition) Bytes of the file.")
    favorite = serializers.BooleanField(help_text="(addition) Retention never deletes it.")
    simulated = serializers.BooleanField(help_text="(addition) The simulator made it.")
    prompt = serializers.CharField(allow_null=True, help_text="(addition) The prompt its node "
                                   "ran with (wired in or typed inline); null for an upload.")
    nodeType = serializers.CharField(allow_null=True, help_text="(addition)")
    model = serializers.CharField(allow_null=True, help_text="(addition) The vendor's model id.")
    modelVersion = serializers.CharField(allow_null=True, help_text="(addition)")
    seed = serializers.IntegerField(allow_null=True, help_text="(addition) The seed used.")
    settings = serializers.JSONField(allow_null=True,
                                     help_text="(addition) The node's effective settings.")
    credits = serializers.IntegerField(
        allow_null=True, help_text="(addition) Credits its node run was charged (for every file "
        "that run made; 0 when it came from the cache); null for an upload.")
    ranBy = RanByOut(allow_null=True, help_text="(addition) Who started the run (or uploaded).")
    createdAt = serializers.DateTimeField(help_text="(addition)")
    workflowId = serializers.UUIDField(allow_null=True, help_text="(addition)")
    executionId = serializers.UUIDField(allow_null=True, help_text="(addition)")
    nodeId = serializers.CharField(allow_null=True, help_text="(addition)")


class AssetListOut(serializers.Serializer):
    assets = AssetOut(many=True, help_text="(addition) Newest first.")
    total = serializers.IntegerField(help_text="(addition) Assets matching the filters.")
    limit = serializers.IntegerField(help_text="(addition)")
    offset = serializers.IntegerField(help_text="(addition)")


class AssetDetailOut(serializers.Serializer):
    data = AssetOut()


class AssetZipIn(serializers.Serializer):
    ids = serializers.ListField(child=StrictCharField(max_length=64), min_length=1,
                                max_length=ZIP_MAX_FILES,
                                help_text="(addition) Asset ids, 1 to 100.")
