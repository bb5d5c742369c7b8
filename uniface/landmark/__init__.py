"""Dense facial landmarks."""

from .models import Landmark106

__all__ = ["Landmark106"]
