"""Running jobs: workers, the browser, step execution, recording, leases, control."""
