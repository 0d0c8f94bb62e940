import "@xyflow/react/dist/style.css";
import "./theme.css";
import "./styles.css";

import { createRoot } from "react-dom/client";

import { applyTheme } from "./theme";

import App from "./App";

applyTheme();
const root = document.getElementById("editor-root")!;
createRoot(root).render(<App workflowId={root.dataset.workflowId ?? ""}
                             canEdit={root.dataset.canEdit !== "false"}
                             canRun={root.dataset.canRun !== "false"} />);
