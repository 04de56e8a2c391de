"""Channel providers: each turns its webhooks into normalized messages and status
reports, and sends outbound messages through its API. Adding one touches no core code:
write its module, list it in `registry`, and give it webhook routes."""
