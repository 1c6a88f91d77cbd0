"""The package version, in a module of its own: every stage can import it without the library facade."""

__version__ = "0.1.0"
