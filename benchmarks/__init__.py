"""Benchmarks: Xero calls, time and memory of xerolink against a typical integration,
measured in one run against the sandbox with Xero's rate limits on."""
