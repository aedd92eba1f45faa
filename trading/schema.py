"""All tables in one metadata, for migrations and the model/migration agreement check.

Importing the model modules here (and only here, apart from their own users) keeps the list explicit.
"""

from __future__ import annotations

import notices.models  # noqa: F401
import trading.accounts.models
import trading.audit.models
import trading.log.models
import trading.projects.models
import trading.rules.models
import trading.sequences  # noqa: F401
from trading.db import Base

metadata = Base.metadata
