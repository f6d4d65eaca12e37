"""The job queue (Huey): it carries signed job ids only."""
