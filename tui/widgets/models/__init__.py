"""Widgets of the Models screen: the files table, the selected model's detail, the background jobs
that download/import/verify/delete, and the import dialog."""
