"""The fidelity tests drive `xerolink connect` the way the connection tests do."""

from connection.conftest import env  # noqa: F401 - the fixture, shared

