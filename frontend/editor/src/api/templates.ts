// Templates (an addition of ours, as Wireflow's clone_template): the starters and the team's
// own, "Use template" and "Save as template".

import { api } from "./client";

export interface TemplateItem {
  id: string;
  name: string;
  description: string;
  tags: string[];
  source: "builtin" | "team";
  teamId: number | null;
  estimatedCredits: number;
  estimateComplete: boolean;
  nodeCount: number;
  models: string[];
  coverUrl: string | null;
  thumbnailUrl: string | null;
  sourceWorkflowId: string | null;
  createdAt: string | null;
}

export const listTemplates = (params: { limit?: number; offset?: number } = {}) =>
  api<{ templates: TemplateItem[]; total: number; limit: number; offset: number }>(
    "GET", `/templates?limit=${params.limit ?? 100}&offset=${params.offset ?? 0}`);

export const cloneTemplate = (id: string, teamId?: number, name?: string) =>
  api<{ data: { id: string; name: string; url: string; teamId: number; templateId: string } }>(
    "POST", `/templates/${encodeURIComponent(id)}/clone`,
    { ...(teamId ? { teamId } : {}), ...(name ? { name } : {}) });

export const saveAsTemplate = (workflowId: string, body: { name?: string; description?: string }) =>
  api<{ data: TemplateItem }>("POST", `/workflows/${workflowId}/template`, body);
