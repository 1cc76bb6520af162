"""The conversation: one per Slack thread (or terminal session), pure and Bolt-free.

``model`` holds the data every front door shares; ``engine`` turns an incoming message
and the thread's state into a new state and replies.
"""
