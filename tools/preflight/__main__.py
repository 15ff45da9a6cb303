import sys

from tools.preflight.run import main

sys.exit(main())
