"""Running a model: a runner subprocess, its event stream as typed events, cancelling it.

Both the CLI (`fashionfail-tui run`, `compare`) and the app drive runs only through this package:

    events.py        the typed events a runner's JSON lines become (`parse_line`)
    request.py       what to run: `RunRequest`, the runner's argv, interpreter and environment
    process.py       the runner process and its lifecycle: `Job.start`, `job.events()`, `job.cancel()`
    checks.py        everything the user can fix before a run starts, and what a run would replace
    shards.py        the I-th of N parts of a run's image list (`run --shard I/N`)
    merging.py       joining shard files into the file a single run writes
    runner_files.py  runners/run_files.py loaded into the app: image selection, shards, the output writer
    facere_fast.py   cutting Facere's mask-pasting loop out of the ONNX graph

Nothing here imports the cluster, setup or UI layers.
"""
