"""Child processes of a bench run (workers, API, ceiling server, wrk), with their logs."""

from ops.children import VENV_BIN, ManagedProcess, free_port, wait_http_ok

__all__ = ["VENV_BIN", "ManagedProcess", "free_port", "wait_http_ok"]
