"""Failed-login throttling (docs/web.md "Login throttling").

After ``max_failures`` failed logins for one user name, or from one address, within ``window``,
further attempts for that name or from that address are refused for ``lockout`` without looking
at the password; the answer is the same whether the user exists or not. A successful login
clears the user name's failures and that name's failures counted against the address (so a
supervisor's typos on a shared tablet do not add up to lock the tablet; someone trying other
names from it still does).

In-process and in memory: each server process keeps its own count (``lpms serve --processes N``:
a name or address may get up to N x 5 failures in before every process has paused it, as the
kernel spreads connections over the processes); a restart forgets it. The time is passed in (the request's ``now``, web/context.py),
never read here.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import deque
from dataclasses import dataclass, field

log = logging.getLogger("lpms.web")

MAX_FAILURES = 5
WINDOW = dt.timedelta(minutes=15)
LOCKOUT = dt.timedelta(minutes=15)
MAX_KEYS = 10_000  # names and addresses tracked at once (memory bound under a spray of random names)


@dataclass
class _Track:
    failures: deque[tuple[dt.datetime, str]] = field(default_factory=deque)  # (when, user name)
    locked_until: dt.datetime | None = None


def _name_key(username: str) -> str:
    return "user:" + username.strip().casefold()


def _address_key(address: str) -> str:
    return "addr:" + (address or "unknown")


class LoginThrottle:
    def __init__(self, *, max_failures: int = MAX_FAILURES, window: dt.timedelta = WINDOW,
                 lockout: dt.timedelta = LOCKOUT, max_keys: int = MAX_KEYS) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self.max_keys = max_keys
        self._tracks: dict[str, _Track] = {}
        self._lock = threading.Lock()

    def _keys(self, username: str, address: str) -> tuple[str, str]:
        return _name_key(username), _address_key(address)

    def refused_until(self, username: str, address: str, now: dt.datetime) -> dt.datetime | None:
        """The end of the lockout that refuses this attempt (the later one of the user name's and
        the address's), or None when the attempt may go ahead."""
        with self._lock:
            until = [t.locked_until for k in self._keys(username, address)
                     if (t := self._tracks.get(k)) is not None and t.locked_until is not None and t.locked_until > now]
        return max(until) if until else None

    def failed(self, username: str, address: str, now: dt.datetime) -> dt.datetime | None:
        """Count a failed login; returns the end of the lockout it starts (None: none starts)."""
        name = username.strip().casefold()
        started: list[dt.datetime] = []
        with self._lock:
            if len(self._tracks) >= self.max_keys:
                self._prune(now)
            for key in self._keys(username, address):
                track = self._tracks.setdefault(key, _Track())
                while track.failures and track.failures[0][0] <= now - self.window:
                    track.failures.popleft()
                track.failures.append((now, name))
                if len(track.failures) >= self.max_failures:
                    track.locked_until = now + self.lockout
                    track.failures.clear()
                    started.append(track.locked_until)
                    log.warning("login paused until %s for %s after %d failed logins in %s", track.locked_until.isoformat(),
                                key, self.max_failures, self.window)
        return max(started) if started else None

    def succeeded(self, username: str, address: str) -> None:
        """A successful login: forget the user name's failures and its failures from the address."""
        name_key, address_key = self._keys(username, address)
        name = username.strip().casefold()
        with self._lock:
            self._tracks.pop(name_key, None)
            track = self._tracks.get(address_key)
            if track is not None:
                track.failures = deque(f for f in track.failures if f[1] != name)
                if not track.failures and track.locked_until is None:
                    del self._tracks[address_key]

    def _prune(self, now: dt.datetime) -> None:
        """Drop what no longer counts; if still full, the entries whose last activity is oldest."""
        def last(t: _Track) -> dt.datetime:
            times = [t.failures[-1][0]] if t.failures else []
            return max(times + ([t.locked_until - self.lockout] if t.locked_until else []), default=now)

        self._tracks = {k: t for k, t in self._tracks.items()
                        if (t.locked_until is not None and t.locked_until > now)
                        or (t.failures and t.failures[-1][0] > now - self.window)}
        if len(self._tracks) >= self.max_keys:
            keep = sorted(self._tracks.items(), key=lambda kv: last(kv[1]), reverse=True)[: self.max_keys // 2]
            self._tracks = dict(keep)

    def __len__(self) -> int:
        with self._lock:
            return len(self._tracks)
