"""The Dagster layer: assets, checks, the graph, jobs, schedules, sensors, partitions, resources, settings, storage."""
