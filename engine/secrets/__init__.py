"""Runbook secrets: the store an admin fills, lookup at run time, and masking."""
