"""Email domains that never identify a company: free-mail providers (a short curated list of the big
ones, as no well-kept PyPI package covers them without network look-ups) and disposable-address services
(the ``disposable-email-domains`` package, refreshed upstream weekly)."""

from __future__ import annotations

from disposable_email_domains import blocklist as _DISPOSABLE

FREE_MAIL = frozenset(
    {
        "aol.com",
        "comcast.net",
        "fastmail.com",
        "fastmail.fm",
        "free.fr",
        "gmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "googlemail.com",
        "hey.com",
        "hotmail.co.uk",
        "hotmail.com",
        "hotmail.de",
        "hotmail.fr",
        "hotmail.it",
        "icloud.com",
        "inbox.com",
        "laposte.net",
        "libero.it",
        "live.com",
        "live.co.uk",
        "live.fr",
        "mac.com",
        "mail.com",
        "mail.ru",
        "me.com",
        "msn.com",
        "naver.com",
        "orange.fr",
        "outlook.com",
        "outlook.de",
        "pm.me",
        "proton.me",
        "protonmail.com",
        "qq.com",
        "rediffmail.com",
        "rocketmail.com",
        "sbcglobal.net",
        "seznam.cz",
        "t-online.de",
        "tutanota.com",
        "web.de",
        "yahoo.co.in",
        "yahoo.co.jp",
        "yahoo.co.uk",
        "yahoo.com",
        "yahoo.de",
        "yahoo.fr",
        "yandex.com",
        "yandex.ru",
        "ymail.com",
        "zoho.com",
        "163.com",
        "126.com",
    }
)


def is_personal_domain(domain: str) -> bool:
    """True for a free-mail or disposable domain (or a subdomain of one, e.g. ``mail.yahoo.com``)."""
    labels = domain.lower().split(".")
    candidates = {".".join(labels[i:]) for i in range(len(labels) - 1)}
    return any(c in FREE_MAIL or c in _DISPOSABLE for c in candidates)
