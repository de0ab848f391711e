"""The pygls language server: a thin layer turning core calls into LSP traffic.

``server.serve()`` is the entry point (``aitk-inference serve``). The protocol is documented in
``server/README.md``. Modules, one job each: ``methods`` (names on the wire), ``bridge`` (calls
from the worker thread into the server's event loop), ``progress``, ``prompter``, ``credential``,
``notifications``, ``workspace`` (arguments and folder), ``operations`` (one at a time, cancel,
worker thread) and ``commands`` (the three executeCommand handlers).
"""
