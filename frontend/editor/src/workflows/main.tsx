import "./workflows.css";

import { createRoot } from "react-dom/client";

import WorkflowsPage, { type PageData } from "./WorkflowsPage";

// The first list comes with the page as JSON (Django's json_script), never as HTML.
const data = JSON.parse(document.getElementById("workflows-page")!.textContent!) as PageData;
createRoot(document.getElementById("workflows-root")!).render(<WorkflowsPage initial={data} />);
