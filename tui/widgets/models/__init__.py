"""Widgets of the Models screen: the files table, the selected model's detail, the background operations
that download/import/verify/delete, and the import dialog."""
