import sys

from covplan.cli import main

sys.exit(main())
