"""Extra routes xlwings Server loads from the project folder (附加路由)."""
