import { copyNodes, pasteClip } from "./graph";
import { layoutPositions } from "./layout";
import type { NodeType, WorkflowEdge, WorkflowNode } from "./types";

const node = (id: string, nodeType: NodeType, x = 0, y = 0): WorkflowNode => ({
  id, type: "basedNode", position: { x, y }, data: { nodeType, label: id, config: { n: 1 } },
});
const edge = (source: string, out: string, target: string, into: string): WorkflowEdge => ({
  id: `${source}-${target}`, source, sourceHandle: `out-${out}`, target, targetHandle: `in-${into}`,
});

const nodes = [node("prompt-1", "input:text"), node("local-preview-1", "generate:local_preview", 300),
               node("upscale-local-1", "process:upscale_local", 600)];
const edges = [edge("prompt-1", "prompt", "local-preview-1", "prompt"),
               edge("local-preview-1", "image", "upscale-local-1", "image")];

describe("copy and paste", () => {
  it("copies the chosen nodes and only the edges among them", () => {
    const clip = copyNodes(nodes, edges, new Set(["local-preview-1", "upscale-local-1"]));
    expect(clip.nodes.map((n) => n.id)).toEqual(["local-preview-1", "upscale-local-1"]);
    expect(clip.edges).toHaveLength(1);
  });
  it("pastes with fresh ids, moved, with the inner edge re-pointed", () => {
    const clip = copyNodes(nodes, edges, new Set(["local-preview-1", "upscale-local-1"]));
    const pasted = pasteClip(clip, nodes, { x: 40, y: 40 });
    expect(pasted.nodes.map((n) => n.id)).toEqual(["local-preview-2", "upscale-local-2"]);
    expect(pasted.nodes[0].position).toEqual({ x: 340, y: 40 });
    expect(pasted.edges).toEqual([{
      id: "e-local-preview-2-out-image-upscale-local-2-in-image", source: "local-preview-2",
      sourceHandle: "out-image", target: "upscale-local-2", targetHandle: "in-image" }]);
  });
  it("never shares settings between a copy and its original", () => {
    const clip = copyNodes(nodes, edges, new Set(["prompt-1"]));
    const pasted = pasteClip(clip, nodes, { x: 0, y: 0 });
    (pasted.nodes[0].data.config as Record<string, unknown>).n = 2;
    expect(nodes[0].data.config).toEqual({ n: 1 });
  });
  it("pastes twice without clashing ids", () => {
    const clip = copyNodes(nodes, edges, new Set(["prompt-1"]));
    const first = pasteClip(clip, nodes, { x: 40, y: 40 });
    const second = pasteClip(clip, [...nodes, ...first.nodes], { x: 80, y: 80 });
    expect(second.nodes[0].id).toBe("text-2");
    expect(first.nodes[0].id).toBe("text-1");
  });
});

describe("auto-layout", () => {
  it("places a chain left to right without overlaps", () => {
    const shuffled = [node("upscale-local-1", "process:upscale_local", 0, 500),
                      node("prompt-1", "input:text", 900, 0),
                      node("local-preview-1", "generate:local_preview", 100, 100)];
    const sizes = new Map(shuffled.map((n) => [n.id, { width: 220, height: 120 }]));
    const at = layoutPositions(shuffled, edges, sizes);
    const x = (id: string) => at.get(id)!.x;
    expect(x("prompt-1")).toBeLessThan(x("local-preview-1"));
    expect(x("local-preview-1")).toBeLessThan(x("upscale-local-1"));
    expect(x("local-preview-1") - x("prompt-1")).toBeGreaterThanOrEqual(220);
    expect(at.get("prompt-1")!.y).toBe(at.get("upscale-local-1")!.y);
  });
  it("places disconnected nodes apart", () => {
    const loose = [node("a", "input:text"), node("b", "input:text")];
    const at = layoutPositions(loose, [], new Map());
    const [a, b] = [at.get("a")!, at.get("b")!];
    expect(Math.abs(a.y - b.y) >= 120 || Math.abs(a.x - b.x) >= 220).toBe(true);
  });
});
