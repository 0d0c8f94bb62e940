import { executionLabel, isActive, isFinished, nodeLabel, type NodeStatus } from "./status";

describe("run statuses", () => {
  it("tells a run or node that may still change from one that is over", () => {
    const all: NodeStatus[] = ["PENDING", "QUEUED", "RUNNING", "COMPLETED", "CACHED", "FAILED",
                               "SKIPPED", "CANCELLED"];
    expect(all.filter(isActive)).toEqual(["QUEUED", "RUNNING"]);
    expect(all.filter(isFinished)).toEqual(["COMPLETED", "CACHED", "FAILED", "SKIPPED",
                                            "CANCELLED"]);
    expect(isActive(null)).toBe(false);
    expect(isFinished(undefined)).toBe(false);
  });
  it("says a status in words, and one it does not know as it came", () => {
    expect(nodeLabel("PENDING")).toBe("waiting");
    expect(executionLabel("CANCELLED")).toBe("cancelled");
    expect(nodeLabel("PAUSED" as NodeStatus)).toBe("paused");
  });
});
