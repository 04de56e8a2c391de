"""The outgoing side of bots: signed HTTP calls to a business's systems (lookups,
step-up code delivery) and to its own bot over the webhook protocol."""
