"""All tables in one metadata, for migrations and the model/migration agreement check.

Importing the model modules here (and only here, apart from their own users) keeps the list explicit.
"""

from __future__ import annotations

import bidding.models  # noqa: F401
import evaluation.models  # noqa: F401
import notices.models  # noqa: F401
import trading.accounts.models  # noqa: F401
import trading.audit.models  # noqa: F401
import trading.blobs.inline  # noqa: F401
import trading.funds.models  # noqa: F401
import trading.log.models  # noqa: F401
import trading.projects.models  # noqa: F401
import trading.rules.models  # noqa: F401
import trading.sequences  # noqa: F401
from trading.db import Base

metadata = Base.metadata
