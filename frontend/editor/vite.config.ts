import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Built into ../dist/editor with hashed names and a manifest; Django serves it as static files
// under /static/editor/ and reads the manifest to link the entry (no CDN, no dev server needed).
export default defineConfig({
  plugins: [react()],
  base: "/static/editor/",
  build: {
    outDir: "../dist/editor",
    emptyOutDir: true,
    manifest: true,
    // The editor, the workflows list, the team pages, the client app page (server-rendered; the
    // entry adds copy buttons and confirmations), the gallery and the share page's read-only
    // canvas; shared code lands in a common chunk.
    rollupOptions: { input: ["src/main.tsx", "src/workflows/main.tsx", "src/team/main.ts",
                             "src/apps/main.ts",
                             "src/gallery/main.tsx", "src/share/main.tsx"] },
  },
  test: { environment: "node", globals: true },
});
