"""The embedded local stack's runners: PostgreSQL from the pgserver wheel and the MiniStack emulator as
processes, no Docker (reading a running stack, embedded or docker, is stackview/)."""
