"""One `env` for every setting (HackSoft style): read once, typed, with embedded defaults.

Defaults are for `make run` on a laptop (which sets DEBUG=true); production sets DATABASE_URL,
REDIS_URL, CRON_SECRET, VAULT_ENCRYPTION_KEYS and SECRET_KEY. DEBUG is off unless set, and then
the missing ones are fatal.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = env.str("ENV_FILE", default=str(BASE_DIR / "var" / "dev.env"))
if Path(_env_file).is_file():
    environ.Env.read_env(_env_file, overwrite=False)
