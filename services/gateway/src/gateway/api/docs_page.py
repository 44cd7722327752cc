"""The /docs page: Swagger UI from the platform's own copy of swagger-ui-dist (under
/swagger/, built with the dashboard), so it renders offline and under a strict CSP."""

DOCS_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Market platform API</title>
<link rel="stylesheet" href="/swagger/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/swagger/swagger-ui-bundle.js"></script>
<script src="/swagger/init.js"></script>
</body>
</html>
"""
