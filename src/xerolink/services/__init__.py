"""Services: what xerolink does, as plain functions with explicit dependencies.

They take the store, the Xero gateway, the clock and the current user as arguments
and return dataclasses; the CLI renders them.
"""
