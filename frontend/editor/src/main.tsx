import "@xyflow/react/dist/style.css";
import "./styles.css";

import { createRoot } from "react-dom/client";

import App from "./App";

const root = document.getElementById("editor-root")!;
createRoot(root).render(<App workflowId={root.dataset.workflowId ?? ""}
                             canEdit={root.dataset.canEdit !== "false"}
                             canRun={root.dataset.canRun !== "false"} />);
