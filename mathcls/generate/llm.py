"""Optional question generation through an OpenAI-compatible chat endpoint
(``POST <url>/v1/chat/completions``), for users who run or rent one.

The URL comes from ``--llm-url`` or ``MATHCLS_LLM_URL``; the model name from ``MATHCLS_LLM_MODEL``
and the key (sent as a Bearer token when set) from ``MATHCLS_LLM_API_KEY``. Only the standard
library is used (urllib). The procedural generator stays the default and needs no network.

Transient failures (a timeout, a dropped connection, HTTP 408, 429 or 5xx) are retried with
exponential backoff (1, 2, 4, 8 s, or the server's ``Retry-After``); other answers (a wrong URL or
key: 4xx) and a refused connection fail at once, in one sentence.
"""

from __future__ import annotations

import errno
import json
import logging
import random
import time
import urllib.error
import urllib.request

import pandas as pd

from ..data import LABEL, SOURCE, TEXT
from ..env import env
from ..errors import MathclsError
from ..labels import LABEL_NAMES, LABELS
from ..text import normalize_text

DEFAULT_MODEL = "gpt-4o-mini"
#: Attempts after the first one, on transient failures, and the first wait in seconds (doubled each time).
RETRIES = 4
BACKOFF = 1.0
#: HTTP statuses worth asking again: request timeout, rate limit, server errors.
TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}

log = logging.getLogger(__name__)
_sleep = time.sleep  # tests replace it

_PROMPT = (
    "Write {n} different competition-style math problems on the topic \"{topic}\". "
    "Use English sentences with LaTeX in $...$ for formulas, vary the wording and the numbers, and do not "
    "give answers. Return one problem per line, with no numbering and no blank lines."
)


def endpoint(url: str | None = None) -> str:
    """The chat-completions URL: ``url`` or ``MATHCLS_LLM_URL``, with ``/v1/chat/completions``
    appended unless the URL already names a path ending in ``/chat/completions``."""
    base = url or env("LLM_URL")
    if not base:
        raise MathclsError("No LLM endpoint given; pass --llm-url URL or set MATHCLS_LLM_URL (an OpenAI-compatible server).")
    base = base.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if base.endswith("/v1"):
        return base + "/chat/completions"
    return base + "/v1/chat/completions"


def chat(messages: list[dict], url: str | None = None, model: str | None = None, api_key: str | None = None,
         timeout: float = 60.0, temperature: float = 0.9, retries: int = RETRIES) -> str:
    """Send one chat request; return the first choice's message content. Transient failures are
    retried up to ``retries`` times with exponential backoff."""
    target = endpoint(url)
    body = json.dumps({"model": model or env("LLM_MODEL") or DEFAULT_MODEL, "messages": messages,
                       "temperature": temperature}).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    key = api_key or env("LLM_API_KEY")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(target, data=body, headers=headers, method="POST")
    for attempt in range(retries + 1):
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                payload = json.loads(resp.read().decode("utf-8"))
            break
        except urllib.error.HTTPError as exc:
            if exc.code not in TRANSIENT_STATUS or attempt == retries:
                raise MathclsError(
                    f"The LLM endpoint {target} answered HTTP {exc.code} ({exc.reason})"
                    + (f" {attempt + 1} times" if attempt else "")
                    + "; check the URL, model name and MATHCLS_LLM_API_KEY."
                ) from None
            wait = _retry_after(exc.headers) or BACKOFF * 2**attempt
            why = f"HTTP {exc.code}"
        except json.JSONDecodeError:
            raise MathclsError(f"The LLM endpoint {target} did not return JSON; is it an OpenAI-compatible server?") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if not _transient(reason) or attempt == retries:
                raise MathclsError(
                    f"Cannot reach the LLM endpoint {target} ({reason}); start the server or fix --llm-url / "
                    "MATHCLS_LLM_URL."
                ) from None
            wait, why = BACKOFF * 2**attempt, str(reason)
        log.warning("LLM endpoint %s: %s; retrying in %.0f s (%d of %d)", target, why, wait, attempt + 1, retries)
        _sleep(wait)
    try:
        return str(payload["choices"][0]["message"]["content"])
    except (KeyError, IndexError, TypeError):
        raise MathclsError(
            f"The LLM endpoint {target} returned no choices[0].message.content; is it an OpenAI-compatible server?"
        ) from None


def _transient(reason) -> bool:
    """A timeout or a dropped connection is worth another try; a refused connection or an unknown
    host is not (nothing listens there)."""
    if isinstance(reason, (TimeoutError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return True
    if isinstance(reason, OSError) and reason.errno in (errno.ETIMEDOUT, errno.ECONNRESET, errno.EPIPE):
        return True
    return isinstance(reason, str) and "timed out" in reason


def _retry_after(headers) -> float | None:
    """The server's ``Retry-After`` in seconds (capped at a minute), when it gives a number."""
    try:
        return min(60.0, max(0.0, float(headers.get("Retry-After"))))
    except (TypeError, ValueError, AttributeError):
        return None


def _parse_lines(content: str) -> list[str]:
    out = []
    for line in content.splitlines():
        line = line.strip().lstrip("-*• ").strip()
        # drop a leading "1." / "1)" numbering the model may add anyway
        head, sep, rest = line.partition(" ")
        if sep and head.rstrip(".)").isdigit() and head[-1:] in ".)":
            line = rest.strip()
        if len(line) >= 15:
            out.append(line)
    return out


def llm_generate(per_class: int | dict = 20, url: str | None = None, model: str | None = None,
                 api_key: str | None = None, batch: int = 10, seed: int = 0, timeout: float = 60.0,
                 max_requests_per_class: int = 20) -> pd.DataFrame:
    """Ask the endpoint for ``per_class`` questions per topic (``{label: n}`` for some topics).

    Returns a DataFrame with ``Question``, ``label`` and ``source`` (``-1``), deduplicated.
    Raises :class:`~mathcls.errors.MathclsError` when the endpoint is unreachable or malformed.
    """
    counts = per_class if isinstance(per_class, dict) else {label: int(per_class) for label in LABELS}
    rng = random.Random(seed)
    texts, labels, seen = [], [], set()
    for label, n in sorted(counts.items()):
        got, requests = 0, 0
        while got < n and requests < max_requests_per_class:
            requests += 1
            k = min(batch, n - got)
            prompt = _PROMPT.format(n=k, topic=LABEL_NAMES[int(label)])
            content = chat([{"role": "system", "content": "You write math competition problems."},
                            {"role": "user", "content": prompt + f" (variation {rng.randint(0, 10**6)})"}],
                           url=url, model=model, api_key=api_key, timeout=timeout)
            for line in _parse_lines(content):
                key = normalize_text(line).lower()
                if key in seen or got >= n:
                    continue
                seen.add(key)
                texts.append(line)
                labels.append(int(label))
                got += 1
    return pd.DataFrame({TEXT: texts, LABEL: pd.array(labels, dtype="int64"), SOURCE: pd.array([-1] * len(texts), dtype="int64")})
