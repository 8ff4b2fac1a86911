"""What the REST API and the web UI share over HTTP: who is calling, cross-site refusal,
verified artifact downloads."""
