"""``python -m evframes.cli ...`` = ``evframes ...``."""
from . import main

if __name__ == "__main__":  # pragma: no cover
    main()
