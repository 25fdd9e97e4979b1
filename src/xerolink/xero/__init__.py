"""The Xero gateway: the only code in xerolink that talks HTTP.

Importing this package is cheap; xero-python is imported only when a call is made,
so commands that never reach Xero start fast.
"""
