"""A toy package exercising every call shape the engines must handle."""
