import { groupSpecs, searchSpecs } from "./components/Palette";
import type { NodeSpec, NodeType } from "./types";

const spec = (nodeType: NodeType, label: string, extra: Partial<NodeSpec> = {}): NodeSpec => ({
  nodeType, label, category: nodeType.split(":")[0], description: "", credits: 0,
  preview: false, executable: true, inputs: [], outputs: [], ...extra,
});

const catalog = new Map<string, NodeSpec>([
  ["utility:note", spec("utility:note", "Sticky Note")],
  ["generate:kling_video", spec("generate:kling_video", "Kling Image to Video", {
    task: "video", vendor: "Kuaishou", description: "Animates an image." })],
  ["generate:imagen_4", spec("generate:imagen_4", "Imagen 4", {
    task: "text-to-image", vendor: "Google", description: "Photorealism." })],
  ["input:text", spec("input:text", "Text Input")],
  ["process:upscale_esrgan", spec("process:upscale_esrgan", "Upscale (ESRGAN)", {
    task: "upscaling", vendor: "Real-ESRGAN", description: "Enlarges ×2 or ×4." })],
]);

describe("palette groups", () => {
  it("groups models by task, inputs first, then the tasks in order, then the rest", () => {
    const groups = groupSpecs([...catalog.values()]);
    expect(groups.map(([group]) => group)).toEqual(
      ["input", "Text to image", "Upscaling", "Video", "utility"]);
  });
});

describe("palette search", () => {
  it("finds a model by its vendor and by its task", () => {
    expect(searchSpecs(catalog, "google").map((s) => s.nodeType)).toEqual(["generate:imagen_4"]);
    expect(searchSpecs(catalog, "upscaling").map((s) => s.nodeType))
      .toEqual(["process:upscale_esrgan"]);
    expect(searchSpecs(catalog, "text to image").map((s) => s.nodeType))
      .toEqual(["generate:imagen_4"]);
  });

  it("puts label matches first", () => {
    expect(searchSpecs(catalog, "kling")[0].nodeType).toBe("generate:kling_video");
  });
});
