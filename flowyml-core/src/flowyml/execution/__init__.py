"""Running a pipeline: launch, the DAG scheduler, step execution and launching, remote
runs, signals."""
