"""The API explorer at /schema/swagger: Swagger UI served by the platform itself (from the swagger-ui-py
package's copy of swagger-ui-dist), not from a CDN, and started by a script file rather than inline code,
so that it runs under the pages' Content-Security-Policy (trading.security_headers)."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import swagger_ui
from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin

#: Swagger UI's files (swagger-ui-bundle.js, swagger-ui.css), served at ASSETS_PATH.
ASSETS_DIR = Path(swagger_ui.__file__).parent / "static"
ASSETS_PATH = "/api-explorer/assets"
#: The OpenAPI document the explorer shows (the JSON render plugin under the /schema router).
SPEC_PATH = "/schema/openapi.json"


class LocalSwaggerRenderPlugin(OpenAPIRenderPlugin):
    def __init__(self, path: str = "/swagger") -> None:
        super().__init__(path=path)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        spec = SPEC_PATH
        title = escape(str(openapi_schema.get("info", {}).get("title", "API")))
        return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
<noscript>接口说明需要 JavaScript；机器可读的 OpenAPI 文档见 <a href="{spec}">{spec}</a>。</noscript>
<div id="swagger-ui" data-spec="{spec}"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="/static/js/api-explorer.js"></script>
</body>
</html>
""".encode()
