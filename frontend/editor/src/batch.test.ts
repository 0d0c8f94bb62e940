import { itemsFromCsv, itemsFromLines } from "./batch";

describe("a batch from the editor", () => {
  it("takes one item per non-empty line", () => {
    expect(itemsFromLines("prompt", "a fox\n\n  a hare \r\na kite\n")).toEqual([
      { prompt: "a fox" }, { prompt: "a hare" }, { prompt: "a kite" }]);
  });

  it("reads a CSV by input node id or label, quotes and commas included", () => {
    const inputs = [{ id: "prompt", label: "Subject" }, { id: "style", label: "" }];
    const { items, error } = itemsFromCsv('Subject,style\n"a fox, red",ink\na hare,oil\n', inputs);
    expect(error).toBeNull();
    expect(items).toEqual([{ prompt: "a fox, red", style: "ink" },
                           { prompt: "a hare", style: "oil" }]);
  });

  it("refuses a column that names no input node", () => {
    const { items, error } = itemsFromCsv("colour\nred\n", [{ id: "prompt", label: "" }]);
    expect(items).toEqual([]);
    expect(error).toContain("colour");
  });
});
