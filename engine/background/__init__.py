"""Work a process does on its own: firing schedules, sweeping lost jobs."""
