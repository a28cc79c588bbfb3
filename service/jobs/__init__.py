"""Job runs: the execution record (state, progress, result, log) of the long jobs."""
