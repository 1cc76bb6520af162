"""After the ack: every job a listener queues, where it runs and how it survives a crash.

``jobs`` (the job types, data only, and their registry) -> ``inbox`` (written before the ack,
``inbox_table`` in the database) -> a runner (``thread_runner`` or ``process_runner`` with
``worker_process``, both on a ``keyed_pool``) -> ``run_job`` (what each kind does) ->
``turn_handler`` (one conversation turn: engine, store, replies).
"""
