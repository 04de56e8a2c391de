"""Proactive notifications: the business's outreach under consent, caps and quiet hours."""
