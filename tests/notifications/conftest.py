from tests.notifications.scene import scene

__all__ = ["scene"]
