"""`make bench`: the scheduler measured against the naive loop and the machine's limit, in one run."""
