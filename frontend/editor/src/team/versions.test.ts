import { describe, expect, it } from "vitest";

import type { VersionDetail } from "../api/versions";
import type { WorkflowNode } from "../types";
import { diffRows, reloadLimit, shown, versionTitle, withPage } from "./versions";

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

describe("paging the Versions list", () => {
  const v = (number: number) => ({ number, label: `v${number}` });

  it("appends an older page, newest first, each version once", () => {
    const first = [v(90), v(89), v(88)];
    // A save (v91) arrived between the pages: the next page starts one lower, repeating v88.
    expect(withPage(first, [v(88), v(87)]).map((i) => i.number)).toEqual([90, 89, 88, 87]);
    expect(withPage([], [v(2), v(5)]).map((i) => i.number)).toEqual([5, 2]);
  });

  it("reads as many whole pages again as are shown, within the API's cap", () => {
    expect(reloadLimit(0, 30)).toBe(30);
    expect(reloadLimit(30, 30)).toBe(30);
    expect(reloadLimit(31, 30)).toBe(60);
    expect(reloadLimit(900, 30)).toBe(200);
  });
});
