import { snippet } from "./snippets";

const ids = { base: "http://127.0.0.1:8000", workflowId: "wf-123", executionId: "run-9",
              webhookUrl: "http://127.0.0.1:8000/api/v1/workflow/hook-1/trigger" };

describe("API snippets", () => {
  it.each(["curl", "Python", "JavaScript"] as const)("%s executes and polls with the real ids",
    (language) => {
      const code = snippet(language, ids);
      expect(code).toContain("http://127.0.0.1:8000/api/v1");
      expect(code).toContain("/workflows/wf-123/execute");
      expect(code).toContain("/workflows/executions/");
      expect(code).toContain("WIREFLOW_API_KEY");
    });
  it("curl polls the latest run and shows the webhook trigger", () => {
    const code = snippet("curl", ids);
    expect(code).toContain("/workflows/executions/run-9/poll");
    expect(code).toContain(ids.webhookUrl);
  });
  it("says where an execution id goes when there is no run yet", () => {
    expect(snippet("curl", { ...ids, executionId: null })).toContain("EXECUTION_ID/poll");
  });
  it("leaves the key-less trigger out for those who may not run the workflow", () => {
    const code = snippet("curl", { ...ids, webhookUrl: null });
    expect(code).not.toContain("Trigger without a key");
    expect(code).not.toContain("null");
  });
});
