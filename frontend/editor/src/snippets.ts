// Ready-to-paste code that executes this workflow and polls a run, with the real ids.

export interface SnippetIds {
  base: string;          // e.g. http://127.0.0.1:8000
  workflowId: string;
  executionId: string | null;
  webhookUrl: string | null;  // null for those who may not run the workflow
}

export type Language = "curl" | "Python" | "JavaScript";

export function snippet(language: Language, ids: SnippetIds): string {
  const api = `${ids.base}/api/v1`;
  const run = ids.executionId ?? "EXECUTION_ID";
  switch (language) {
    case "curl":
      return [
        "# Execute (the response's Location header is the poll URL)",
        `curl -X POST "${api}/workflows/${ids.workflowId}/execute" \\`,
        '  -H "Authorization: Bearer $WIREFLOW_API_KEY" \\',
        '  -H "Content-Type: application/json" -d \'{}\'',
        "",
        "# Poll a run",
        `curl "${api}/workflows/executions/${run}/poll" \\`,
        '  -H "Authorization: Bearer $WIREFLOW_API_KEY"',
        ...(ids.webhookUrl ? [
          "",
          "# Trigger without a key (the JSON body fills input nodes by id)",
          `curl -X POST "${ids.webhookUrl}" -H "Content-Type: application/json" -d '{}'`,
        ] : []),
      ].join("\n");
    case "Python":
      return [
        "import os, time",
        "import httpx",
        "",
        `API = "${api}"`,
        'HEADERS = {"Authorization": f"Bearer {os.environ[\'WIREFLOW_API_KEY\']}"}',
        "",
        `run = httpx.post(f"{API}/workflows/${ids.workflowId}/execute", headers=HEADERS, json={})`,
        "run.raise_for_status()",
        'execution_id = run.json()["executionId"]' + (ids.executionId ? `  # e.g. "${ids.executionId}"` : ""),
        "",
        "delay = 1",
        "while True:",
        '    poll = httpx.get(f"{API}/workflows/executions/{execution_id}/poll", headers=HEADERS).json()',
        '    if poll["status"] in ("COMPLETED", "FAILED", "CANCELLED"):',
        "        break",
        "    time.sleep(delay)",
        "    delay = min(delay * 2, 10)",
        'print(poll["status"], (poll.get("finalOutput") or {}).get("url"))',
      ].join("\n");
    case "JavaScript":
      return [
        `const API = "${api}";`,
        "const headers = { Authorization: `Bearer ${process.env.WIREFLOW_API_KEY}`,",
        '                  "Content-Type": "application/json" };',
        "",
        `const run = await fetch(\`\${API}/workflows/${ids.workflowId}/execute\`, {`,
        '  method: "POST", headers, body: "{}" });',
        "const { executionId } = await run.json();" + (ids.executionId ? ` // e.g. "${ids.executionId}"` : ""),
        "",
        "let poll, delay = 1000;",
        "for (;;) {",
        "  poll = await (await fetch(`${API}/workflows/executions/${executionId}/poll`, { headers })).json();",
        '  if (["COMPLETED", "FAILED", "CANCELLED"].includes(poll.status)) break;',
        "  await new Promise((r) => setTimeout(r, delay));",
        "  delay = Math.min(delay * 2, 10000);",
        "}",
        "console.log(poll.status, poll.finalOutput?.url);",
      ].join("\n");
  }
}
