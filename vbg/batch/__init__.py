"""``vbg batch``: many files on Dask distributed.

- ``jobs``: inputs to outputs, the settings hash and the sidecar that lets a re-run skip finished files;
- ``worker``: one file end to end on a worker, with its compiled models kept per worker process;
- ``runner``: the local or remote cluster, retries, progress over files and frames, the summary table;
- ``cli``: the ``vbg batch`` command.
"""
