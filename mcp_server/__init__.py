"""The MCP server at /api/mcp: Wireflow's agent tools over the streamable HTTP transport.

`operations` are the tools' bodies (synchronous, through the same selectors and services as the
REST API, checked against the key's scopes); `server` declares the tools with the official SDK;
`http` is the ASGI app mounted beside Django (Bearer `sk-` keys, 401 at the HTTP level)."""
