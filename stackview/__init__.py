"""What reads a running stack, embedded or docker: its resource names, settings, status, ticks, executions,
queue and workflows. It starts nothing: the runners (embedded/) and the dashboard build on it, never the reverse."""
