"""FlowBuilder scheduler: turns due workflow schedules into executions and SQS messages."""
