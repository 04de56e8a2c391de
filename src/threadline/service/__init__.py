"""The service layer: each use case runs in one transaction through a UnitOfWork,
applying core decisions, and its events are published only after the commit."""
