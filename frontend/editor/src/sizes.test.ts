import { aspectOf, fitSize, megapixels, sizeForAspect } from "./graph";

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
