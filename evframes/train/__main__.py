"""``python -m evframes.train ...`` = ``evframes train ...`` (the same command object,
:func:`evframes.train.command.train`; the command line is not imported)."""
from .command import train

if __name__ == "__main__":
    train(prog_name="python -m evframes.train")
