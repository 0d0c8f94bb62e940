import "@xyflow/react/dist/style.css";
import "../theme.css";
import "../styles.css";

import { createRoot } from "react-dom/client";

import { applyTheme } from "../theme";
import ShareCanvas, { type ShareData } from "./ShareCanvas";

// The share page's canvas: the server renders the sanitized node list (what a browser without
// scripts shows); this replaces it with the editor's own nodes in a read-only React Flow view.
applyTheme();
const data = document.getElementById("share-data");
const root = document.getElementById("share-root");
if (data?.textContent && root) {
  createRoot(root).render(<ShareCanvas data={JSON.parse(data.textContent) as ShareData} />);
}
