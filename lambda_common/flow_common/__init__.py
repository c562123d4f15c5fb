"""What every FlowBuilder Lambda shares: database settings and connection, JSON logs, named SQL, setting parsers.

Both zips carry it (scheduler_lambda/package_zip.py FUNCTIONS); it imports neither function's package.
"""
