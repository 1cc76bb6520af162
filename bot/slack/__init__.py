"""The Slack front door: Bolt app, listeners by surface, HTTP and Socket Mode servers.

Nothing here is imported by the engine; the engine never imports Bolt.
"""
