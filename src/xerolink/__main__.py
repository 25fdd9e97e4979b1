"""``python -m xerolink``. The Ctrl-C guard starts at the first line: even finding
``xerolink.entry`` takes a moment (see that module)."""

import sys

try:
    from xerolink.entry import main

    code = main()
except KeyboardInterrupt:
    sys.stderr.write("error: interrupted\n")
    code = 130
raise SystemExit(code)
