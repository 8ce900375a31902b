import sys

from lgcraft.cli import main

sys.exit(main())
