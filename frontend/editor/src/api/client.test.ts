describe("error lines", () => {
  it("adds the first violation to the API's message", async () => {
    const { ApiError, describe: line } = await import("./client");
    expect(line(new ApiError(422, { error: "Workflow graph failed validation (2 errors)",
      violations: [{ message: "The workflow has 200 nodes; at most 100 are allowed" }] })))
      .toBe("Workflow graph failed validation (2 errors) — The workflow has 200 nodes; at most 100 are allowed");
    expect(line(new ApiError(402, { error: "Insufficient credits. Required: 3, Available: 0" })))
      .toBe("Insufficient credits. Required: 3, Available: 0");
  });
});
