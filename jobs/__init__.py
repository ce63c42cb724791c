"""The LPMS jobs process (``lpms jobs run``): APScheduler 3 fires the scheduled jobs
(``jobs.definitions``) through ``jobs.runner.JobRunner``, one runner at a time per job across
processes and machines (``jobs.locks``), every run recorded in ``job_runs``. An outer ring like
the CLI and the web: thin, calling services through the composition root (lpms/bootstrap.py).
Documented in docs/jobs.md."""
