import "../theme.css";
import "./workflows.css";

import { createRoot } from "react-dom/client";

import { applyTheme } from "../theme";

import WorkflowsPage, { type PageData } from "./WorkflowsPage";

applyTheme();
// The first list comes with the page as JSON (Django's json_script), never as HTML.
const data = JSON.parse(document.getElementById("workflows-page")!.textContent!) as PageData;
createRoot(document.getElementById("workflows-root")!).render(<WorkflowsPage initial={data} />);
