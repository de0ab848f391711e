"""Deploy and Status: sync, restart the revisions, wait until the endpoint answers, report state."""
