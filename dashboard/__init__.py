"""The local dashboard (DESIGN.md, contract 9): see and drive the stack in a browser."""
