"""Where the scale-out tests find PostgreSQL and Redis."""

import os

# The services this machine runs (docs/deploy.md, "Testing"); override to use others.
POSTGRES = os.environ.get("JOBDECK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("JOBDECK_TEST_REDIS", "redis://127.0.0.1:6379/0")
HOW = ("start PostgreSQL (trust auth, database `test`) on 127.0.0.1:5432 and Redis on "
       "127.0.0.1:6379, or point JOBDECK_TEST_POSTGRES / JOBDECK_TEST_REDIS at yours; "
       ".ci/run starts them when they are installed")
