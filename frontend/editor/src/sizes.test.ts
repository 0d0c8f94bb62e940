import { aspectOf, fitSize, megapixels, sizeForAspect, sizeSettings } from "./sizes";
import type { CatalogInput, NodeSpec } from "./types";

const FLUX = { multipleOf: 16, min: 256, max: 4096, maxMegapixels: 4 };

describe("sizes for FLUX.2", () => {
  it("keeps every preset at or under 4 MP, in multiples of 16, near its ratio", () => {
    for (const preset of ["1:1", "4:3", "3:2", "16:9", "21:9", "3:4", "2:3", "9:16"]) {
      for (const target of [1, 2, 4]) {
        const { width, height } = sizeForAspect(preset, FLUX, target);
        expect(width % 16).toBe(0);
        expect(height % 16).toBe(0);
        expect(megapixels(width, height)).toBeLessThanOrEqual(4);
        expect(aspectOf(width, height)).toBe(preset);
      }
    }
  });
  it("gives 1 MP for 1:1 by default", () => {
    expect(sizeForAspect("1:1", FLUX)).toEqual({ width: 1024, height: 1024 });
  });
  it("scales an oversized request down, keeping the shape", () => {
    const { width, height } = fitSize(4096, 4096, FLUX);
    expect(width * height).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(width).toBe(height);
    expect(width % 16).toBe(0);
    const wide = fitSize(4000, 2250, FLUX);
    expect(megapixels(wide.width, wide.height)).toBeLessThanOrEqual(4);
    expect(aspectOf(wide.width, wide.height)).toBe("16:9");
  });
  it("rounds to the step and clamps to the bounds", () => {
    expect(fitSize(1000, 10, FLUX)).toEqual({ width: 1008, height: 256 });
    expect(fitSize(512, 520, { multipleOf: 8, min: 64, max: 2048, maxMegapixels: 4 }))
      .toEqual({ width: 512, height: 520 });
  });
  it("knows a custom size from a preset", () => {
    expect(aspectOf(1920, 1080)).toBe("16:9");
    expect(aspectOf(1000, 700)).toBeNull();
  });
});

const side = (id: string, bounds: Partial<CatalogInput> = {}): CatalogInput => ({
  id, label: id, type: "integer", isPort: false, required: false, default: 1024, min: null,
  max: null, enum: null, description: "", multiple: false, multipleOf: null, ...bounds,
});
const node = (inputs: CatalogInput[], extra: Partial<NodeSpec> = {}): NodeSpec => ({
  nodeType: "generate:test", label: "Test", category: "generate", description: "", credits: 0,
  preview: false, executable: true, inputs, outputs: [], ...extra,
});
const fluxSide = (id: string) => side(id, { min: 256, max: 4096, multipleOf: 16 });
const FLUX_RULE = { widthInput: "width", heightInput: "height", maxPixels: 4194304,
                    minSide: 256, maxSide: 4096, step: 16 };

describe("size limits from the catalog", () => {
  it("takes a node's size rule as the server serves it", () => {
    const size = sizeSettings(node([fluxSide("width"), fluxSide("height")],
                                   { sizeRule: FLUX_RULE }));
    expect(size?.limits).toEqual(FLUX);
    expect(size?.width.id).toBe("width");
    expect(size?.height.id).toBe("height");
  });
  it("finds the settings the rule names, whatever they are called", () => {
    const size = sizeSettings(node([side("w"), side("h"), side("width")], {
      sizeRule: { ...FLUX_RULE, widthInput: "w", heightInput: "h", maxPixels: 2 * 1024 * 1024 },
    }));
    expect([size?.width.id, size?.height.id]).toEqual(["w", "h"]);
    expect(size?.limits.maxMegapixels).toBe(2);
  });
  it("falls back to the settings' own bounds without a rule, as from an older server", () => {
    const preview = node([side("width", { min: 64, max: 2048, multipleOf: 8 }),
                          side("height", { min: 64, max: 2048, multipleOf: 8 })]);
    expect("sizeRule" in preview).toBe(false);
    expect(sizeSettings(preview)?.limits)
      .toEqual({ multipleOf: 8, min: 64, max: 2048, maxMegapixels: 4 });
    // No rule, no area limit beyond the sides: the server's lint still checks FLUX.2's.
    expect(sizeSettings(node([fluxSide("width"), fluxSide("height")], { sizeRule: null }))
      ?.limits).toEqual({ multipleOf: 16, min: 256, max: 4096, maxMegapixels: 16 });
  });
  it("keeps the tighter bound where the sides differ, and none where none is served", () => {
    expect(sizeSettings(node([side("width", { min: 64, max: 2048, multipleOf: 8 }),
                              side("height", { min: 128, max: 1024 })]))?.limits)
      .toEqual({ multipleOf: 8, min: 128, max: 1024, maxMegapixels: 2 });
    const free = sizeSettings(node([side("width"), side("height")]))!.limits;
    expect(free).toEqual({ multipleOf: 1, min: 1, max: Infinity, maxMegapixels: Infinity });
    expect(fitSize(5000, 3001, free)).toEqual({ width: 5000, height: 3001 });
  });
  it("gives no size pair to a node without both sides", () => {
    expect(sizeSettings(node([side("width")]))).toBeNull();
    expect(sizeSettings(node([side("width"), { ...side("height"), isPort: true }]))).toBeNull();
  });
});
