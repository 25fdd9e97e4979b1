"""The page the browser shows after Xero sends it back to xerolink: one card saying
what happened. Inline styles only (nothing is fetched), readable on a phone, and every
value escaped: organisation names come from Xero."""

from __future__ import annotations

import html

_TONES = {"ok": ("#0f7b3f", "&#10003;"), "wait": ("#8a5a00", "&#8230;"),
          "fail": ("#b42318", "&#10007;")}

_STYLE = """
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
background:#f4f6f8;color:#1f2933}
main{max-width:32rem;margin:12vh auto;padding:0 1rem}
.card{background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.12);
padding:1.75rem}
.mark{display:inline-flex;width:2.5rem;height:2.5rem;border-radius:50%;
align-items:center;justify-content:center;color:#fff;font-size:1.25rem}
h1{font-size:1.35rem;margin:1rem 0 .5rem;overflow-wrap:anywhere}
p{margin:0;color:#3e4c59}
footer{margin-top:1rem;font-size:.85rem;color:#7b8794}
"""


def page(title: str, message: str, tone: str) -> str:
    colour, symbol = _TONES.get(tone, _TONES["fail"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>xerolink: {html.escape(title)}</title><style>{_STYLE}</style></head>
<body><main><div class="card">
<span class="mark" style="background:{colour}" aria-hidden="true">{symbol}</span>
<h1 id="title">{html.escape(title)}</h1>
<p id="message">{html.escape(message)}</p>
</div><footer>xerolink, connecting your CRM to Xero</footer></main></body></html>"""
