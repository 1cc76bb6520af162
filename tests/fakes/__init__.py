"""Local stand-ins for Slack used by the integration tests and the bench (127.0.0.1 only)."""
