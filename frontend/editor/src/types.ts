// Shapes of the catalog (GET /api/v1/nodes) and of the workflow JSON of api.md.

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
  nodeType: string;
  label: string;
  category: string;
  description: string;
  inputs: CatalogInput[];
  outputs: CatalogOutput[];
  credits: number;
  preview: boolean;
  executable: boolean;
}

export interface WorkflowNodeData {
  label?: string;
  nodeType: string;
  category?: string;
  config?: Record<string, unknown>;
  params?: Record<string, unknown>;
  [key: string]: unknown;
}

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
  webhookUrl: string;
  nodes: WorkflowNode[];
  edges: WorkflowEdge[];
}

export interface Problem {
  rule: string;
  message: string;
  fix: string | null;
  nodeId: string | null;
  edgeId: string | null;
}

export type NodeStatus =
  | "PENDING" | "QUEUED" | "RUNNING" | "COMPLETED" | "CACHED" | "FAILED" | "SKIPPED" | "CANCELLED";

export interface NodeOutput {
  images: { url: string; width: number; height: number }[];
  videos: { url: string; duration: number }[];
  text: string | null;
}

export interface NodeRunState {
  status: NodeStatus;
  progress: number;
  error: string | null;
  output: NodeOutput | null;
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
  status: string;
  trigger: string;
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
}

export interface Poll {
  executionId: string;
  status: string;
  progress: number;
  seq: number;
  nodeResults: { nodeRuns: PollNodeRun[] };
}
