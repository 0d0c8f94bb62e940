export { api, ApiError, csrfToken, describe, upload } from "./client";
export * from "./workflows";
export * from "./assets";
export * from "./templates";
