"""Publishing: notice kinds and their immutable versions, the public JSON API, the portal, search, feeds."""
