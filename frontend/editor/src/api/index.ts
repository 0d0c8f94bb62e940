export { api, ApiError, csrfToken, upload } from "./client";
export * from "./workflows";
