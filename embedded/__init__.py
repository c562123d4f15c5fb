"""The embedded local stack: PostgreSQL from the pgserver wheel and the MiniStack emulator, no Docker."""
