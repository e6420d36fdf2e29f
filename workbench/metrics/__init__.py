"""What operators watch, in the Prometheus text format at ``/metrics``.

- ``definitions``: the counters and histograms; they import nothing but
  ``prometheus_client``, so the API, jobs and ``actions/`` count without Flask.
- ``multiprocess``: where gunicorn's and the workers' processes keep their figures, so
  one scrape adds them up.
- ``scrape``: what is read when Prometheus asks (queue depths from Redis, overdue cases
  from the database) and the exposition itself.
- ``endpoint``: the Flask view, restricted to operator networks or a bearer token.
"""
