"""Proactive notifications: the rules that decide whether, and when, the business may
message a customer first (consent, frequency caps, quiet hours)."""
