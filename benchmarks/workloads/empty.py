"""An empty script: what is left of a run is interpreter (and autoprov) start-up and shut-down."""
