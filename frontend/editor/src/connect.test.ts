import { connectChoices } from "./components/ConnectMenu";
import type { NodeSpec, NodeType } from "./types";

const spec = (nodeType: NodeType, inputs: [string, string, boolean?][],
              outputs: [string, string][]): NodeSpec => ({
  nodeType, label: nodeType, category: nodeType.split(":")[0], description: "", credits: 0,
  preview: false, executable: true,
  inputs: inputs.map(([id, type, multiple]) => ({ id, label: id, type, isPort: true,
    required: true, default: null, min: null, max: null, enum: null, description: "",
    multiple: Boolean(multiple), multipleOf: null })),
  outputs: outputs.map(([id, type]) => ({ id, label: id, type: type as never })),
});

const catalog = new Map([
  ["input:text", spec("input:text", [], [["prompt", "text"]])],
  ["generate:flux", spec("generate:flux" as NodeType, [["prompt", "text"], ["refs", "image", true]],
                         [["image", "image"]])],
  ["process:up", spec("process:up" as NodeType, [["image", "image"]], [["image", "image"]])],
]);
const node = (id: string, nodeType: string, label?: string) => ({ id, data: { nodeType, label } });

describe("connectChoices", () => {
  const nodes = [node("t", "input:text", "Brief"), node("f", "generate:flux"),
                 node("u", "process:up"), node("u2", "process:up", "Second")];

  it("offers every input of the same media type, labelled by node", () => {
    const choices = connectChoices(catalog, { nodes, edges: [] }, "f");
    expect(choices.map((c) => `${c.target}.${c.port}`)).toEqual(["u.image", "u2.image"]);
    expect(choices[1].targetLabel).toBe("Second");
    expect(connectChoices(catalog, { nodes, edges: [] }, "t").map((c) => c.target)).toEqual(["f"]);
  });

  it("never offers a cycle, an edge that exists, and says which edge it replaces", () => {
    const edges = [{ source: "f", target: "u", targetHandle: "in-image" },
                   { source: "u", target: "u2", targetHandle: "in-image" }];
    // Everything that takes an image is upstream of u2: feeding it back would close a loop.
    expect(connectChoices(catalog, { nodes, edges }, "u2")).toEqual([]);
    // u feeds u2 already, and f (the only other image input) is upstream of u.
    expect(connectChoices(catalog, { nodes, edges }, "u").map((c) => c.target)).toEqual([]);
    const fromF = connectChoices(catalog, { nodes, edges }, "f");
    expect(fromF.map((c) => c.target)).toEqual(["u2"]);
    expect(fromF[0].replaces).toBe("process:up");  // u2's single input is fed by u now
  });
});
