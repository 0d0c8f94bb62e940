import "../theme.css";
import "../styles.css";

import { createRoot } from "react-dom/client";

import Gallery from "../components/Gallery";
import { applyTheme } from "../theme";

// The team-wide gallery: every output of the member's teams, newest first.
applyTheme();
createRoot(document.getElementById("gallery-root")!).render(
  <section className="gallery-page"><h1>Gallery</h1><Gallery /></section>);
