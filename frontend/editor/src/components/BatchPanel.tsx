import { retryItem, useBatch } from "../batch";
import { openPast } from "../runs";
import { executionLabel } from "../status";

/** The batch started from the editor: one tile per item with its image (or its status or
 * error), a Retry on each failed one; a tile opens that run on the canvas. */
export default function BatchPanel() {
  const items = useBatch((s) => s.items);
  const error = useBatch((s) => s.error);
  const done = items.filter((item) => item.status === "COMPLETED").length;
  const failed = items.filter((item) => item.status === "FAILED" || item.status === "CANCELLED");
  if (!items.length) {
    return (
      <div className="muted" data-testid="batch-panel">
        {error ?? "No batch yet: select a Text Input and use its Batch section to run a list of "
          + "prompts (or a CSV) as one batch."}
      </div>
    );
  }
  return (
    <div className="batch" data-testid="batch-panel">
      {error && <p className="error" role="alert">{error}</p>}
      <p className="muted" data-testid="batch-counts">
        {done}/{items.length} done{failed.length ? ` · ${failed.length} failed` : ""}
      </p>
      <ul className="batch-grid">
        {items.map((item) => (
          <li key={item.index} className={`batch-item status-${item.status.toLowerCase()}`}
              data-testid="batch-item" data-status={item.status}>
            <button className="batch-open" title={item.error ?? item.label}
                    aria-label={`Item ${item.index + 1}: ${item.label}, ${executionLabel(item.status)}`}
                    onClick={() => void openPast(item.executionId)}>
              {item.thumb ? <img src={item.thumb} alt="" />
                : <span className="batch-state">{executionLabel(item.status)}</span>}
            </button>
            <span className="batch-label">{item.label}</span>
            {(item.status === "FAILED" || item.status === "CANCELLED") && (
              <button data-testid="batch-retry" onClick={() => void retryItem(item.index)}>
                Retry
              </button>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
