import { describe, saveAsTemplate } from "../api";
import { useEditor } from "../store";

/** "New": start from a template, or keep this workflow as one of the team's templates. */
export default function NewMenu() {
  const workflowId = useEditor((s) => s.workflowId);
  const name = useEditor((s) => s.name);
  const canEdit = useEditor((s) => s.canEdit);
  const notify = useEditor((s) => s.notify);
  return (
    <details className="editor-team-menu" data-testid="new-menu">
      <summary>New ▾</summary>
      <div className="menu">
        <a href="/templates" data-testid="from-template">From a template…</a>
        <a href="/">Blank workflow (on the workflows page)</a>
        {canEdit && (
          <a href="#save-as-template" data-testid="save-as-template"
             onClick={(event) => {
               event.preventDefault();
               event.currentTarget.closest("details")?.removeAttribute("open");
               void saveAsTemplate(workflowId, { name }).then(
                 () => notify(`Saved “${name}” as a team template (see /templates)`),
                 (error) => notify(`Not saved as a template: ${describe(error)}`));
             }}>Save this as a template</a>
        )}
      </div>
    </details>
  );
}
