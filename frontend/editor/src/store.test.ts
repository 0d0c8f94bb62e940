import { useEditor } from "./store";
import type { NodeSpec } from "./types";

const textSpec: NodeSpec = {
  nodeType: "input:text", label: "Text", category: "input", description: "", credits: 0,
  preview: false, executable: true,
  inputs: [{ id: "prompt", label: "Prompt", type: "text", isPort: false, required: false,
             default: "", min: null, max: null, enum: null, description: "", multiple: false,
             multipleOf: null }],
  outputs: [{ id: "prompt", label: "Prompt", type: "text" }],
};

describe("editor store", () => {
  beforeEach(() => {
    useEditor.getState().setCatalog([textSpec]);
    useEditor.getState().load({ id: "w", name: "w", updatedAt: "t0", webhookUrl: "", nodes: [],
                                edges: [] });
  });

  it("undoes and redoes adding a node and editing it", () => {
    const editor = useEditor.getState();
    editor.addNode("input:text", { x: 0, y: 0 });
    const id = useEditor.getState().nodes[0].id;
    editor.setConfig(id, "prompt", "hello");
    expect(useEditor.getState().nodes[0].data.config).toEqual({ prompt: "hello" });
    editor.undo();
    expect(useEditor.getState().nodes[0].data.config).toEqual({ prompt: "" });
    editor.undo();
    expect(useEditor.getState().nodes).toHaveLength(0);
    editor.redo();
    editor.redo();
    expect(useEditor.getState().nodes[0].data.config).toEqual({ prompt: "hello" });
    expect(useEditor.getState().dirty).toBe(true);
  });

  it("keeps run status per node", () => {
    const editor = useEditor.getState();
    editor.startRun("x");
    editor.nodeEvent("a", { status: "RUNNING", progress: 0.5 });
    editor.nodeEvent("a", { status: "COMPLETED", progress: 1 });
    expect(useEditor.getState().runs.a).toMatchObject({ status: "COMPLETED", progress: 1 });
  });
});
