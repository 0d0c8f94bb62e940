export { api, ApiError, csrfToken } from "./client";
export * from "./workflows";
