"""Sharded runs on a SLURM cluster: job-array scripts, submission, status, cancel (no Textual here).

`script` writes the sbatch scripts, `slurm` drives and parses SLURM's commands, `record` keeps what
was submitted beside the output, `status` joins SLURM's view with the shards' own files, and
`operations` is what the `cluster` command and the Cluster screen call.
"""
