"""The session stage: the capture of a run and of each of its processes, and the finished Run."""
