import { checkConnection, createNode } from "./graph";
import { megapixels, snapSize } from "./sizes";
import type { NodeSpec, NodeType } from "./types";

const spec = (nodeType: NodeType, inputs: [string, string][], outputs: [string, string][],
              extra: Partial<NodeSpec> = {}): NodeSpec => ({
  nodeType, label: nodeType, category: nodeType.split(":")[0], description: "", credits: 0,
  preview: false, executable: true,
  inputs: inputs.map(([id, type]) => ({ id, label: id, type, isPort: true, required: true,
    default: null, min: null, max: null, enum: null, description: "", multiple: false,
    multipleOf: null })),
  outputs: outputs.map(([id, type]) => ({ id, label: id, type: type as never })),
  ...extra,
});

const catalog = new Map([
  ["input:text", spec("input:text", [], [["prompt", "text"]])],
  ["generate:local_preview", spec("generate:local_preview", [["prompt", "text"]], [["image", "image"]])],
  ["process:upscale_local", spec("process:upscale_local", [["image", "image"]], [["image", "image"]])],
]);
const node = (id: string, nodeType: NodeType) => ({ id, type: "basedNode", position: { x: 0, y: 0 },
                                                  data: { nodeType } });
const nodes = [node("t", "input:text"), node("p", "generate:local_preview"),
               node("u", "process:upscale_local")];

describe("checkConnection", () => {
  it("joins equal media types", () => {
    expect(checkConnection(catalog, nodes, [], { source: "t", sourceHandle: "out-prompt",
      target: "p", targetHandle: "in-prompt" })).toEqual({ ok: true });
  });
  it("refuses a text → image edge with a reason", () => {
    const check = checkConnection(catalog, nodes, [], { source: "t", sourceHandle: "out-prompt",
      target: "u", targetHandle: "in-image" });
    expect(check.ok).toBe(false);
    expect(check.reason).toContain("gives text");
  });
  it("refuses a second edge into a single input and a self loop", () => {
    const edges = [{ id: "e", source: "p", sourceHandle: "out-image", target: "u",
                     targetHandle: "in-image" }];
    expect(checkConnection(catalog, nodes, edges, { source: "p", sourceHandle: "out-image",
      target: "u", targetHandle: "in-image" }).ok).toBe(false);
    expect(checkConnection(catalog, nodes, [], { source: "u", sourceHandle: "out-image",
      target: "u", targetHandle: "in-image" }).ok).toBe(false);
  });
});

describe("new nodes and sizes", () => {
  it("gets a fresh id and the catalog defaults", () => {
    const withDefault = spec("process:upscale_local", [["image", "image"]], [["image", "image"]]);
    withDefault.inputs.push({ ...withDefault.inputs[0], id: "scale", isPort: false, default: 2 });
    const created = createNode(withDefault, [node("upscale-local-1", "process:upscale_local")],
                               { x: 1, y: 2 });
    expect(created.id).toBe("upscale-local-2");
    expect(created.data.config).toEqual({ scale: 2 });
  });
  it("reads megapixels and snaps to multiples of 16", () => {
    expect(megapixels(2048, 2048)).toBe(4);
    expect(snapSize(1000)).toBe(1008);
    expect(snapSize(10)).toBe(256);
  });
});
