"""RQ on Redis: the queues, their jobs, the worker and the outbox sweeper."""
