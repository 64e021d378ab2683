import sys

from nursestation.cli import main

sys.exit(main())
