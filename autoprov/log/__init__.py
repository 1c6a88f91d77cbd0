"""The log stage: the crash-safe event log of a run (``writer``) and its one reader (``reader``)."""
