import { describe, expect, it } from "vitest";

import type { VersionDetail } from "../api/versions";
import type { WorkflowNode } from "../types";
import { diffRows, shown, versionTitle } from "./versions";

const node = (id: string, label: string, config: Record<string, unknown> = {}): WorkflowNode => ({
  id, type: "wireflow", position: { x: 0, y: 0 },
  data: { label, nodeType: "input:text", category: "input", config },
} as unknown as WorkflowNode);

describe("diffRows", () => {
  it("names added nodes from the current graph, removed ones from the version", () => {
    const detail = {
      number: 3, label: "", nodes: [node("a", "Prompt", { prompt: "cow" }), node("gone", "Old")],
      edges: [],
      diff: { nodesAdded: ["new"], nodesRemoved: ["gone"], edgesAdded: [], edgesRemoved: [],
              nodesChanged: [{ nodeId: "a", settings: ["prompt"], fields: ["position"],
                               values: { prompt: { before: "cow", after: "a cow at dawn" } } }] },
    } as unknown as VersionDetail;
    const rows = diffRows(detail, [node("a", "Prompt", { prompt: "a cow at dawn" }),
                                   node("new", "Upscale")]);
    expect(rows.map((r) => [r.nodeId, r.label, r.state])).toEqual([
      ["new", "Upscale", "added"], ["gone", "Old", "removed"], ["a", "Prompt", "changed"]]);
    expect(rows[2].settings).toEqual([{ key: "prompt", before: "cow", after: "a cow at dawn" }]);
    expect(rows[2].fields).toEqual(["position"]);
  });

  it("shows unset values as a dash and shortens long ones", () => {
    expect(shown(undefined)).toBe("—");
    expect(shown(4)).toBe("4");
    expect(shown({ w: 1 })).toBe('{"w":1}');
    expect(shown("x".repeat(100), 10)).toBe(`${"x".repeat(9)}…`);
    expect(versionTitle(12, "Client approved")).toBe("v12 · Client approved");
    expect(versionTitle(12, "")).toBe("v12");
  });
});
