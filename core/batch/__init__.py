"""Studio batch renders: many shots, split into chunks of frames, on local processes or a Ray cluster.

``plan`` turns job files into chunks (leaving out frames already on disk), ``runner`` feeds them to an
executor (``local`` worker processes or ``ray_cluster``) and builds the ``report``; ``chunk_task`` is the
one function every worker runs. Farms that run commands rather than Python use ``render-job --frames``
directly (see docs/farm.md).
"""
