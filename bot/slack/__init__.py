"""The Slack front door, in the order a delivery goes through it: ``serve`` (the process, HTTP
and Socket Mode), ``app`` (Bolt), ``listeners`` (one package per surface, the ack side),
``triage_bot`` (what listeners reach through Bolt context) and ``delivery`` (after the ack).

Nothing here is imported by the engine; the engine never imports Bolt.
"""
