"""Segmentation beyond one process, on dask.distributed.

Images of a folder and tiles of a huge image become Dask tasks; each worker
loads the model once and keeps it (:mod:`.worker`); results stream to their
files as tasks finish (:mod:`.batch`, :mod:`.huge`). No run waits for ever
(:mod:`.watch`): a task whose worker died is retried a bounded number of times,
then reported failed; a cluster left without workers ends the run with an error
saying what to do; Ctrl-C returns at once. Works on a local cluster
(``--scheduler local``), an existing scheduler (``--scheduler tcp://host:8786``)
or an HPC cluster started with dask-jobqueue; see ``docs/distributed.md``.
"""
