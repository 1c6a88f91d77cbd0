"""From the event log to PROV documents, serialisations and graphs (never on the hot path)."""
