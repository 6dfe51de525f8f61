"""The command line (nhv-pipeline) and its operations: runs, rebuild, recovery, the run queue."""
