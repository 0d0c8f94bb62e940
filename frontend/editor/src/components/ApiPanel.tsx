import { useState } from "react";

import { rotateWebhook } from "../api";
import { type Language, snippet } from "../snippets";
import { useEditor } from "../store";

const LANGUAGES: Language[] = ["curl", "Python", "JavaScript"];

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;  // no clipboard permission (plain http): the text stays selectable
  }
}

/** A read-only value with a Copy button (selected on focus, for when the clipboard is denied). */
function CopyField({ label, what, value, testId, onCopy }: {
  label: string; what: string; value: string; testId: string;
  onCopy(what: string, text: string): Promise<void>;
}) {
  return (
    <label>{label}
      <span className="row">
        <input readOnly value={value} data-testid={testId} onFocus={(e) => e.target.select()} />
        <button onClick={() => void onCopy(what, value)}>Copy</button>
      </span>
    </label>
  );
}

/** How to run this workflow from code: its id, webhook URL, and snippets with the real ids. */
export default function ApiPanel() {
  const workflowId = useEditor((s) => s.workflowId);
  const webhookUrl = useEditor((s) => s.webhookUrl);
  const executionId = useEditor((s) => s.executionId);
  const setWebhookUrl = useEditor((s) => s.setWebhookUrl);
  const canEdit = useEditor((s) => s.canEdit);
  const [language, setLanguage] = useState<Language>("curl");
  const [message, setMessage] = useState<string | null>(null);
  const code = snippet(language, { base: location.origin, workflowId, executionId, webhookUrl });

  const copy = async (what: string, text: string) =>
    setMessage(await copyText(text) ? `${what} copied` : "Select the text and copy it");
  const rotate = async () => {
    if (!window.confirm("Rotate the webhook URL? The current URL stops working at once.")) return;
    try {
      setWebhookUrl((await rotateWebhook(workflowId)).data.webhookUrl);
      setMessage("A new webhook URL is active; the old one no longer works");
    } catch (error) {
      setMessage(`Not rotated: ${(error as Error).message}`);
    }
  };

  return (
    <div className="api-panel" data-testid="api-panel">
      <CopyField label="Workflow id" what="Id" value={workflowId} testId="api-workflow-id"
                 onCopy={copy} />
      {webhookUrl ? (
        <CopyField label="Webhook URL (runs without a key)" what="Webhook URL" value={webhookUrl}
                   testId="api-webhook-url" onCopy={copy} />
      ) : (
        <p className="muted" data-testid="api-webhook-hidden">
          The webhook URL runs this workflow without a key, so only those who may run it see it.
        </p>
      )}
      {canEdit && webhookUrl && (
        <button onClick={() => void rotate()} data-testid="rotate-webhook">Rotate webhook URL</button>
      )}
      {message && <p className="muted" role="status">{message}</p>}
      <nav className="tabs small">
        {LANGUAGES.map((name) => (
          <button key={name} className={language === name ? "active" : ""}
                  onClick={() => setLanguage(name)}>{name}</button>
        ))}
      </nav>
      <pre className="code" data-testid="api-snippet">{code}</pre>
      <button onClick={() => void copy("Code", code)}>Copy code</button>
      <p className="muted">Create an API key in admin or with <code>manage.py createapikey</code>,
        then set <code>WIREFLOW_API_KEY</code>.</p>
    </div>
  );
}
