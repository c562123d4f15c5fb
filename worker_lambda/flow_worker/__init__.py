"""FlowBuilder reference worker: consumes flow-builder-queue and carries each execution to completed or failed."""
