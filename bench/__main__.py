"""``python -m bench``: see ``bench/main.py``."""

from bench.main import main

if __name__ == "__main__":  # importing this module runs nothing
    raise SystemExit(main())
