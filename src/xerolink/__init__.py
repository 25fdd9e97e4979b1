"""xerolink: a CRM's window onto Xero quotes, invoices and bills."""

__version__ = "0.1.0"
