// Shapes of the catalog (GET /api/v1/nodes) and of the workflow JSON of api.md.

import type { ExecutionStatus, NodeStatus } from "./status";

export type MediaType = "text" | "image" | "video" | "audio" | "number" | "any";

export interface CatalogInput {
  id: string;
  label: string;
  type: string;
  isPort: boolean;
  required: boolean;
  default: unknown;
  min: number | null;
  max: number | null;
  enum: unknown[] | null;
  description: string;
  multiple: boolean;
  multipleOf: number | null;
  /** A text port that may instead be typed into config[id] when nothing is wired to it. */
  inline?: boolean;
}

export interface CatalogOutput {
  id: string;
  label: string;
  type: MediaType;
}

export interface NodeSpec {
  nodeType: NodeType;
  label: string;
  category: string;
  description: string;
  inputs: CatalogInput[];
  outputs: CatalogOutput[];
  credits: number;
  preview: boolean;
  executable: boolean;
  /** Set where two settings make one size under a shared rule (FLUX.2); absent from a server
   * older than the field. */
  sizeRule?: SizeRule | null;
  /** The palette's group for a model (text-to-image, image-editing, upscaling, video, audio),
   * who makes it and its price in words; null for other nodes. */
  task?: string | null;
  vendor?: string | null;
  priceRule?: string | null;
}

/** An output size: the settings `widthInput` and `heightInput`, each side within
 * [minSide, maxSide] in steps of `step`, and at most `maxPixels` in all. */
export interface SizeRule {
  widthInput: string;
  heightInput: string;
  maxPixels: number;
  minSide: number;
  maxSide: number;
  step: number;
}

/** Node families, as the `nodeType` prefix names them (api.md). */
export type NodeFamily =
  "input" | "generate" | "process" | "compose" | "audio" | "utility" | "logic" | "llm";
export type NodeType = `${NodeFamily}:${string}`;

/** `data` of a node of one family: its settings live in `config` (`params` is read as an
 * alias). Keys the editor does not know are kept as they are. */
interface NodeDataOf<F extends NodeFamily, Config> {
  label?: string;
  /** The run whose output this node keeps: later runs reuse it (0 credits) until unpinned. */
  pinned?: { executionId: string };
  nodeType: `${F}:${string}`;
  category?: string;
  config?: Config & Record<string, unknown>;
  params?: Record<string, unknown>;
  [key: string]: unknown;
}

export type InputNodeData = NodeDataOf<"input", { prompt?: string; text?: string; url?: string }>;
export type GenerateNodeData = NodeDataOf<"generate", {
  prompt?: string; width?: number; height?: number; seed?: number | null }>;
export type ProcessNodeData = NodeDataOf<"process", { scale?: number }>;
export type ComposeNodeData = NodeDataOf<"compose", { text?: string }>;
export type UtilityNodeData = NodeDataOf<"utility", { text?: string }>;
export type LogicNodeData = NodeDataOf<"logic", object>;
export type LlmNodeData = NodeDataOf<"llm", {
  prompt?: string; model?: string; system_prompt?: string; json_mode?: boolean;
  max_tokens?: number }>;
export type AudioNodeData = NodeDataOf<"audio", object>;

export type WorkflowNodeData =
  | InputNodeData | GenerateNodeData | ProcessNodeData | ComposeNodeData | AudioNodeData
  | UtilityNodeData | LogicNodeData | LlmNodeData;

export interface WorkflowNode {
  id: string;
  type: string;
  position: { x: number; y: number };
  data: WorkflowNodeData;
}

export interface WorkflowEdge {
  id: string;
  source: string;
  sourceHandle: string;
  target: string;
  targetHandle: string;
}

export interface Workflow {
  id: string;
  name: string;
  updatedAt: string;
  webhookUrl: string | null;  // null: the caller may not run the workflow
  nodes: WorkflowNode[];
  edges: WorkflowEdge[];
  /** The number of its latest version. */
  version?: number;
}

export interface Problem {
  rule: string;
  message: string;
  fix: string | null;
  nodeId: string | null;
  edgeId: string | null;
}

export interface NodeOutput {
  /** `thumbnailUrl` (768 px WebP) where the server made one: previews use it, the viewer and
   * downloads the full file. */
  images: { url: string; width: number; height: number; thumbnailUrl?: string | null }[];
  videos: { url: string; duration: number; posterUrl?: string | null }[];
  /** Sounds (our addition; absent from an older server): `waveformUrl` is a 4:1 WebP picture
   * of the waveform. */
  audios?: { url: string; duration: number | null; waveformUrl?: string | null }[];
  text: string | null;
}

export interface NodeRunState {
  status: NodeStatus;
  progress: number;
  error: string | null;
  output: NodeOutput | null;
  /** The seed a generate node used (the one drawn when its setting is random), if known. */
  seed?: number | null;
  /** The `seq` of the event (or poll) this state came from. */
  seq?: number;
}

export interface Estimate {
  estimatedCredits: number;
  availableCredits: number;
  sufficient: boolean;
  estimateComplete: boolean;
  breakdown: { nodeId: string; nodeLabel: string; credits: number }[];
}

export interface HistoryItem {
  executionId: string;
  status: ExecutionStatus;
  trigger: string;
  /** The client app that started the run (trigger "app"). */
  app?: { id: string; name: string } | null;
  error: string | null;
  credits: { charged: number };
  durationSeconds: number | null;
  thumbnailUrl: string | null;
  createdAt: string;
}

export interface PollNodeRun {
  nodeId: string;
  status: NodeStatus;
  progress: number;
  error: string | null;
  output: NodeOutput | null;
  seed?: number | null;
  /** A node a List fans out: which item this run is (one run per item). */
  itemIndex?: number | null;
}

/** A pinned node whose settings or upstream graph changed since its output was made. */
export interface StaleDependency {
  nodeId: string;
  nodeLabel: string;
  reason: string;
  pinnedFrom: { executionId: string };
  changedNodes: string[];
  message: string;
}

export interface Poll {
  executionId: string;
  status: ExecutionStatus;
  progress: number;
  seq: number;
  nodeResults: { nodeRuns: PollNodeRun[] };
  staleDependencies?: StaleDependency[];
}

// What the workflow's socket sends (executions/consumers.py and executions/events.py).

/** The latest run as the server has it, on connect and when asked to re-sync. */
export interface SnapshotMessage {
  type: "snapshot";
  /** Sent on connect; a re-sync's snapshot leaves it out. */
  workflowId?: string;
  execution: Poll | null;
}

export interface NodeStatusEvent {
  type: "node.status";
  executionId: string;
  workflowId: string | null;
  nodeId: string;
  status: NodeStatus;
  progress: number;
  output: NodeOutput | null;
  error: string | null;
  credits: number;
  seed?: number | null;
  /** A node a List fans out: this event's item (0-based) and the list's size. */
  itemIndex?: number | null;
  itemCount?: number | null;
  seq: number;
}

export interface ExecutionStatusEvent {
  type: "execution.status";
  executionId: string;
  workflowId: string | null;
  status: ExecutionStatus;
  progress: number;
  error: string | null;
  seq: number;
}

/** The member's role on the workflow's team changed and still lets them watch runs: what
 * they may do now (a demotion to viewer turns the editor read-only at once). */
export interface AccessChangedMessage {
  type: "access.changed";
  role: string;
  canEdit: boolean;
  canRun: boolean;
}

/** Who else has this workflow open (executions.presence): everyone but you. */
export interface PresenceMessage {
  type: "presence";
  workflowId: string;
  users: { userId: number; name: string; initials: string; tabs: number }[];
}

/** A new version of the workflow was saved, by anyone (this editor too): no graph, the
 * editor fetches it (executions.events.WorkflowSavedEvent). */
export interface WorkflowSavedEvent {
  type: "workflow.saved";
  workflowId: string;
  version: number;
  updatedAt: string;
  /** Full name or username, "key <name>" for an API key, or "operator". */
  author: string;
}

/** A burst of status events sent together, in order (a lone event comes as itself). */
export interface EventsMessage {
  type: "events";
  events: (NodeStatusEvent | ExecutionStatusEvent | WorkflowSavedEvent)[];
}

export type LiveMessage = SnapshotMessage | NodeStatusEvent | ExecutionStatusEvent
  | AccessChangedMessage | PresenceMessage | WorkflowSavedEvent | EventsMessage;
