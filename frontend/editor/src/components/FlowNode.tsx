import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo, useMemo } from "react";

import { MEDIA_COLORS, ports } from "../graph";
import { type FlowNode, useEditor } from "../store";

/** One node on the canvas: its ports as coloured handles, its live run state and output. */
function WireflowNode({ id, data, selected }: NodeProps<FlowNode>) {
  const spec = useEditor((s) => s.catalog.get(data.nodeType));
  const run = useEditor((s) => s.runs[id]);
  const allProblems = useEditor((s) => s.problems);
  const problems = useMemo(() => allProblems.filter((p) => p.nodeId === id), [allProblems, id]);
  if (!spec) return <div className="node node-unknown">Unknown type {data.nodeType}</div>;
  const inputs = ports(spec);
  const status = run?.status ?? "";
  const image = run?.output?.images?.[0];
  const video = run?.output?.videos?.[0];
  return (
    <div className={`node ${selected ? "selected" : ""} status-${status.toLowerCase()}`}
         data-testid={`node-${id}`} data-status={status}>
      <div className="node-title">
        <span>{data.label || spec.label}</span>
        {spec.preview && <span className="badge">preview</span>}
      </div>
      <div className="node-ports">
        <div>
          {inputs.map((input) => (
            <div key={input.id} className="port port-in">
              <Handle type="target" position={Position.Left} id={`in-${input.id}`}
                      style={{ background: MEDIA_COLORS[input.type] ?? "#888" }} />
              <span>{input.label}{input.required ? " *" : ""}</span>
            </div>
          ))}
        </div>
        <div>
          {spec.outputs.map((output) => (
            <div key={output.id} className="port port-out">
              <span>{output.label}</span>
              <Handle type="source" position={Position.Right} id={`out-${output.id}`}
                      style={{ background: MEDIA_COLORS[output.type] ?? "#888" }} />
            </div>
          ))}
        </div>
      </div>
      {status && (
        <div className="node-status">
          <span className="status-label">{status.toLowerCase()}</span>
          {status === "RUNNING" && (
            <progress max={1} value={run?.progress ?? 0} />
          )}
        </div>
      )}
      {run?.error && status === "FAILED" && <div className="node-error">{run.error}</div>}
      {image && (
        <a href={image.url} target="_blank" rel="noreferrer">
          <img className="node-preview" src={image.url} alt={`${data.label ?? id} output`} />
        </a>
      )}
      {video && <video className="node-preview" src={video.url} controls muted loop />}
      {problems.map((problem, index) => (
        <div key={index} className="node-problem" title={problem.fix ?? ""}>{problem.message}</div>
      ))}
    </div>
  );
}

export default memo(WireflowNode);
