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
    // Two pages: the editor and the workflows list; shared code lands in a common chunk.
    rollupOptions: { input: ["src/main.tsx", "src/workflows/main.tsx"] },
  },
  test: { environment: "node", globals: true },
});
