"""Placeholder: replaced by the notification worker."""


class NotificationWorker:
    def __init__(self, line) -> None:
        self.line = line

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass
