"""The MCP tools, declared with the official SDK (`MCPServer`): typed arguments become each
tool's input schema and the TypedDict it returns its output schema (structured content).

A tool reads the principal the HTTP layer (mcp_server.http) authenticated from the request's
ASGI scope, runs its operation in a thread with database access (`database_sync_to_async`, as
Channels' consumers do) and turns an error of ours into an MCP tool error with our message:
a 402 "Insufficient credits. Required: 10, Available: 3" reads the same here."""

from __future__ import annotations

from typing import Annotated, Any

from channels.db import database_sync_to_async
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from mcp_server import operations
from wireflow_site.errors import as_api_error

SCOPE_KEY = "wireflow.mcp"  # ASGI scope entry: {"principal", "request"} set by mcp_server.http

server = MCPServer(
    name="wireflow",
    title="Wireflow",
    instructions=(
        "Wireflow runs node-graph workflows of AI image and video models. List the team's "
        "workflows (list_workflows), read one and the inputs it takes (get_workflow), start it "
        "with run_workflow (inputs keyed by input node id), then call get_execution until its "
        "status is COMPLETED, FAILED or CANCELLED; outputs are signed URLs in nodeStates. "
        "Runs cost credits (get_credit_balance); list_templates and clone_template start a new "
        "workflow from a template."),
    # Tools are served per request with no server-to-client messages: a stateless server.
    subscriptions=False,
)

READ_ONLY = ToolAnnotations(readOnlyHint=True, openWorldHint=False)


async def _call(ctx: Context, operation, *args: Any, **kwargs: Any) -> Any:
    """Run a synchronous operation for the request's principal. An error of ours is a tool
    error whose text is the API's message, word for word, and whose structured content is the
    API's error body (`code` and extra fields such as `requiredCredits`)."""
    state = ctx.request_context.request.scope[SCOPE_KEY]

    def run():
        try:
            return operation(state["principal"], *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every error leaves in the API's shape
            error = as_api_error(exc, where=f"/api/mcp {operation.__name__}")
            return CallToolResult(is_error=True,
                                  content=[TextContent(type="text", text=error.message)],
                                  structured_content=error.body())

    return await database_sync_to_async(run)()


def _request(ctx: Context):
    return ctx.request_context.request.scope[SCOPE_KEY]["request"]


# --- output shapes ---------------------------------------------------------------------------

Open = with_config(ConfigDict(extra="allow"))


class TeamOut(TypedDict):
    id: int
    name: str
    slug: str
    plan: str


class KeyOut(TypedDict):
    name: str
    prefix: str
    last4: str
    scopes: list[str]
    expiresAt: str | None


class WhoamiOut(TypedDict):
    team: TeamOut
    apiKey: KeyOut


class WorkflowItem(TypedDict):
    id: str
    name: str
    description: str
    webhookId: str | None
    webhookUrl: str | None
    isActive: bool
    executionCount: int
    lastExecutedAt: str | None
    tags: list[str]
    teamId: int
    version: int
    createdAt: str
    updatedAt: str


class WorkflowList(TypedDict):
    workflows: list[WorkflowItem]


class RunInput(TypedDict):
    nodeId: str
    label: str
    type: str
    required: bool
    description: str
    default: Any


class WorkflowDetail(WorkflowItem):
    completionWebhookUrl: str
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    inputs: list[RunInput]


@Open
class PortOut(TypedDict):
    id: str
    label: str
    type: str


@Open
class NodeTypeOut(TypedDict):
    nodeType: str
    label: str
    category: str
    description: str
    inputs: list[PortOut]
    outputs: list[PortOut]
    credits: int
    provider: str | None
    model: str | None


class ModelList(TypedDict):
    nodes: list[NodeTypeOut]


class RunStarted(TypedDict):
    executionId: str
    status: str
    workflowId: str
    pollUrl: str


@Open
class NodeState(TypedDict):
    nodeId: str
    label: str | None
    status: str
    error: str | None
    outputUrl: str | None
    outputUrls: list[str]
    thumbnailUrl: str | None
    thumbnailUrls: list[str | None]
    posterUrl: str | None
    text: Any
    seed: int | None


@Open
class CreditsOut(TypedDict):
    charged: int


@Open
class ExecutionOut(TypedDict):
    executionId: str
    workflowId: str | None
    status: str
    progress: float
    nodeResults: dict[str, Any]
    nodeStates: list[NodeState]
    finalOutput: dict[str, Any] | None
    error: str | None
    credits: CreditsOut
    simulated: bool
    staleDependencies: Any
    seq: int
    startTime: str | None
    endTime: str | None
    createdAt: str | None


class BalanceOut(TypedDict):
    teamId: int
    plan: str
    balance: int
    executionsToday: int
    executionsPerDay: int | None


@Open
class TemplateOut(TypedDict):
    id: str
    name: str
    description: str
    tags: list[str]
    source: str
    teamId: int | None
    estimatedCredits: int
    estimateComplete: bool
    nodeCount: int
    models: list[str]
    coverUrl: str | None


class TemplateList(TypedDict):
    templates: list[TemplateOut]
    total: int
    limit: int
    offset: int


class Cloned(TypedDict):
    id: str
    name: str
    url: str
    teamId: int
    templateId: str


# --- tools -----------------------------------------------------------------------------------

WorkflowId = Annotated[str, Field(description="The workflow's id (a UUID)")]
IdempotencyKey = Annotated[str | None, Field(
    max_length=255,
    description="As the REST Idempotency-Key header: a retry with the same key and arguments "
                "within 24 hours returns the first answer (or its error) instead of doing it "
                "again; the same key with other arguments is an error")]


@server.tool(annotations=READ_ONLY)
async def whoami(ctx: Context) -> WhoamiOut:
    """The team and the API key this connection acts as, with the key's scopes."""
    return await _call(ctx, operations.whoami)


@server.tool(annotations=READ_ONLY)
async def list_workflows(
    ctx: Context,
    isActive: Annotated[bool | None, Field(description="Only active (true) or inactive "
                                                        "(false) workflows")] = None,
) -> WorkflowList:
    """The team's workflows, most recently updated first (needs workflows:read)."""
    return await _call(ctx, operations.workflow_items, _request(ctx), is_active=isActive)


@server.tool(annotations=READ_ONLY)
async def get_workflow(ctx: Context, workflowId: WorkflowId) -> WorkflowDetail:
    """One workflow: its graph (nodes, edges) and the inputs a run takes (needs
    workflows:read)."""
    return await _call(ctx, operations.workflow_detail, _request(ctx), workflow_id=workflowId)


@server.tool(annotations=READ_ONLY)
async def list_models(
    ctx: Context,
    category: Annotated[str | None, Field(description="Only this family: input, generate, "
                                                      "process, compose, logic, utility")] = None,
) -> ModelList:
    """The node catalog: every node type with its ports, settings and credit cost."""
    return await _call(ctx, operations.models, category=category)


@server.tool(annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=False,
                                         idempotentHint=False, openWorldHint=True))
async def run_workflow(
    ctx: Context,
    workflowId: WorkflowId,
    inputs: Annotated[dict[str, Any] | None, Field(
        description="Values for the workflow's input nodes, keyed by node id (see "
                    "get_workflow's inputs): a value, or {setting: value}")] = None,
    idempotencyKey: IdempotencyKey = None,
) -> RunStarted:
    """Start a run of the saved workflow (needs workflows:execute); the team's credits must
    cover its estimate. Poll it with get_execution."""
    return await _call(ctx, operations.workflow_run, _request(ctx), workflow_id=workflowId,
                       inputs=inputs, idempotency_key=idempotencyKey)


@server.tool(annotations=READ_ONLY)
async def get_execution(
    ctx: Context,
    executionId: Annotated[str, Field(description="The executionId run_workflow returned")],
) -> ExecutionOut:
    """A run's status, each node's state and its output URLs (signed, valid for a limited
    time), as the REST poll returns them (needs executions:read)."""
    return await _call(ctx, operations.execution_detail, execution_id=executionId)


@server.tool(annotations=READ_ONLY)
async def get_credit_balance(ctx: Context) -> BalanceOut:
    """The team's credit balance and today's executions against its plan (needs
    usage:read)."""
    return await _call(ctx, operations.credit_balance)


@server.tool(annotations=READ_ONLY)
async def list_templates(
    ctx: Context,
    source: Annotated[str | None, Field(description="builtin or team; both if not given")]
    = None,
    limit: Annotated[int, Field(ge=1, le=100)] = 20,
    offset: Annotated[int, Field(ge=0)] = 0,
) -> TemplateList:
    """Built-in starters and the team's own templates, each with its quoted credits (needs
    workflows:read)."""
    return await _call(ctx, operations.templates, source=source, limit=limit, offset=offset)


@server.tool(annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=False,
                                         idempotentHint=False, openWorldHint=False))
async def clone_template(
    ctx: Context,
    templateId: Annotated[str, Field(description="A template id from list_templates")],
    name: Annotated[str | None, Field(description="The new workflow's name")] = None,
    idempotencyKey: IdempotencyKey = None,
) -> Cloned:
    """A new workflow in the key's team made from a template (needs workflows:write)."""
    return await _call(ctx, operations.template_clone, _request(ctx), template_id=templateId,
                       name=name, idempotency_key=idempotencyKey)


@server.tool(annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=False,
                                         idempotentHint=False, openWorldHint=True))
async def run_app(
    ctx: Context,
    slug: Annotated[str, Field(description="The app's slug, as in its link /apps/{slug}")],
    inputs: Annotated[dict[str, Any] | None, Field(
        description="Values for the app's exposed inputs, keyed by node id: a value, or "
                    "{setting: value}. A file field (an exposed input with `media`) takes an "
                    "http(s) URL of the image or sound, fetched by the server (no private or "
                    "loopback addresses), or the `upload` token of POST /apps/{slug}/uploads "
                    "made with this key")] = None,
    idempotencyKey: IdempotencyKey = None,
) -> RunStarted:
    """Run one of the team's client apps (needs apps:execute): only its exposed inputs are
    taken, and its daily credit cap applies. Poll it with get_execution."""
    return await _call(ctx, operations.app_run, _request(ctx), slug=slug, inputs=inputs,
                       idempotency_key=idempotencyKey)
