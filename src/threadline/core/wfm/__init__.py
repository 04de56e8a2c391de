"""Workforce planning: capacity math for voice, chat and asynchronous work."""
