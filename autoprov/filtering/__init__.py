"""The YAML filter language: load, validate, compose and compile filter files into a Matcher."""
