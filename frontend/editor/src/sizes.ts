// Output sizes for the inspector: the limits a node's size must keep, the megapixel readout,
// aspect presets, and the nearest valid size. The limits come from the catalog: a node's
// `sizeRule` where it has one (FLUX.2), else the bounds of its width and height settings.

import { settings } from "./graph";
import type { CatalogInput, NodeSpec, SizeRule } from "./types";

/** A megapixel as the server counts it (and BFL bills it): 1024² pixels. */
const MEGAPIXEL = 1024 * 1024;

export function megapixels(width: number, height: number): number {
  return (width * height) / MEGAPIXEL;
}

export function snapSize(value: number, multipleOf = 16, min = 256): number {
  return Math.max(min, Math.round(value / multipleOf) * multipleOf);
}

/** Both sides within [min, max] in multiples of `multipleOf`, and at most `maxMegapixels` in
 * all (Infinity where nothing bounds them). */
export interface SizeLimits {
  multipleOf: number;
  min: number;
  max: number;
  maxMegapixels: number;
}

/** The two settings that make a node's size, and the limits they keep. */
export interface SizeSettings {
  width: CatalogInput;
  height: CatalogInput;
  limits: SizeLimits;
}

/** A node's size settings: the ones its `sizeRule` names, else settings called width and
 * height; null when it has no such pair. */
export function sizeSettings(spec: NodeSpec): SizeSettings | null {
  const rule = spec.sizeRule ?? null;
  const fields = settings(spec);
  const width = fields.find((f) => f.id === (rule?.widthInput ?? "width"));
  const height = fields.find((f) => f.id === (rule?.heightInput ?? "height"));
  if (!width || !height) return null;
  return { width, height, limits: rule ? limitsOfRule(rule) : limitsOfSettings(width, height) };
}

export function limitsOfRule(rule: SizeRule): SizeLimits {
  return { multipleOf: rule.step, min: rule.minSide, max: rule.maxSide,
           maxMegapixels: rule.maxPixels / MEGAPIXEL };
}

/** Without a rule (a node that has none, or a server older than the field): the bounds each
 * setting is served with, the tighter of the two where they differ, and no area limit beyond
 * what the largest sides make. */
export function limitsOfSettings(width: CatalogInput, height: CatalogInput): SizeLimits {
  const widest = width.max ?? Infinity;
  const tallest = height.max ?? Infinity;
  return {
    multipleOf: width.multipleOf ?? height.multipleOf ?? 1,
    min: Math.max(width.min ?? 1, height.min ?? 1),
    max: Math.min(widest, tallest),
    maxMegapixels: megapixels(widest, tallest),
  };
}

export const ASPECT_PRESETS = ["1:1", "4:3", "3:2", "16:9", "21:9", "3:4", "2:3", "9:16"];

function ratioOf(preset: string): number {
  const [w, h] = preset.split(":").map(Number);
  return w > 0 && h > 0 ? w / h : 1;
}

/** The nearest valid size: each side clamped and rounded to the step, then scaled down (never
 * up) until the area fits, keeping the aspect ratio as closely as the step allows. */
export function fitSize(width: number, height: number, limits: SizeLimits):
    { width: number; height: number } {
  const { multipleOf: step, min, max, maxMegapixels } = limits;
  const floorTo = (v: number) => Math.floor(v / step) * step;
  const clamp = (v: number) => Math.min(floorTo(max), Math.max(Math.ceil(min / step) * step, v));
  let w = clamp(Math.round(width / step) * step);
  let h = clamp(Math.round(height / step) * step);
  const limit = maxMegapixels * MEGAPIXEL;
  if (w * h > limit) {
    const scale = Math.sqrt(limit / (w * h));
    w = clamp(floorTo(w * scale));
    h = clamp(floorTo(h * scale));
    while (w * h > limit) {  // rounding at the bounds can leave a sliver over: trim the longer
      if (w >= h) w = clamp(w - step); else h = clamp(h - step);
      if (w === clamp(0) && h === clamp(0)) break;
    }
  }
  return { width: w, height: h };
}

/** A size for an aspect-ratio preset at about the given area (1 MP unless said), made valid. */
export function sizeForAspect(preset: string, limits: SizeLimits,
                              targetMegapixels = 1): { width: number; height: number } {
  const area = Math.min(targetMegapixels, limits.maxMegapixels) * MEGAPIXEL;
  const ratio = ratioOf(preset);
  return fitSize(Math.sqrt(area * ratio), Math.sqrt(area / ratio), limits);
}

/** The preset a size matches (within a step's rounding), or null for a custom size. */
export function aspectOf(width: number, height: number, tolerance = 0.02): string | null {
  if (!(width > 0 && height > 0)) return null;
  return ASPECT_PRESETS.find((p) => Math.abs(ratioOf(p) - width / height) / ratioOf(p)
                             <= tolerance) ?? null;
}
