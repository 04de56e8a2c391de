"""The functional core: domain types and policies.

Nothing in this package performs I/O, reads a clock or imports from the shell
(`threadline.service`, `threadline.adapters`, `threadline.api`, `threadline.cli`).
Time is always a parameter; identifiers are handed in by the caller.
"""
