"""The virtual agent (issue 6): flows as data, intent recognition, and the engine that
runs a flow one customer message at a time. Pure: lookups, code delivery and the
external bot's webhook are effects the service performs and feeds back."""
