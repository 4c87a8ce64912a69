"""Real-time streaming audio classification on edge devices (wake words, commands, speaker gender)."""
__version__ = "0.1.0"
