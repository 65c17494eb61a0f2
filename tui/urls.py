"""Whether a URL from outside (the config, a server's redirect, an annotation file) is one the
downloads can use: checked once here, so a bad one is a line naming it, never a crash where it is used."""

from __future__ import annotations

HTTP = ("http", "https")


def url_problem(value: str, schemes: tuple[str, ...] = HTTP) -> str | None:
    """Why `value` is not a URL with one of `schemes`, as the downloads will read it; None when it is."""
    from urllib.parse import urlsplit

    if any(c.isspace() or not c.isprintable() for c in value):
        return "it contains a space or a control character"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        return str(exc)
    if parts.scheme.lower() not in schemes:
        return f"it does not start with {' or '.join(s + '://' for s in schemes)}"
    if parts.scheme.lower() in HTTP:
        if not parts.hostname:
            return "it names no host"
        import httpx  # what the downloads parse it with: an IDNA host or other detail urlsplit lets pass

        try:
            httpx.URL(value)
        except (httpx.InvalidURL, ValueError) as exc:
            return str(exc).splitlines()[0] if str(exc).strip() else "httpx refuses it"
    return None
