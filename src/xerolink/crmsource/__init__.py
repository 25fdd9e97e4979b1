"""Live CRM sources: where CRM records come from and where Xero's figures go back to.

``base`` is the small interface a CRM implements (read pages of changed records, count
them, update one record's fields); ``salesmate`` is the first implementation. This
package is the only code that talks HTTP to a CRM, as ``xerolink.xero`` is for Xero.
"""

from xerolink.crmsource.base import KINDS, CrmPage, CrmSource, Pulled

__all__ = ["KINDS", "CrmPage", "CrmSource", "Pulled"]
