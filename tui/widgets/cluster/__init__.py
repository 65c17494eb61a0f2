"""The Cluster screen's parts: the list of cluster runs, one run's shards, its summary and a failed shard's log."""
