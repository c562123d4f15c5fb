"""A part of the stack that does not answer: the page shows a banner naming it, never a traceback."""


class PartDown(RuntimeError):
    def __init__(self, part: str, message: str):
        super().__init__(message)
        self.part = part  # "postgres" or "emulator"
        self.message = message
