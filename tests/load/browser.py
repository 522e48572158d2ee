"""What a browser fetches over HTTP to open the page, as a student's tab does.

    index.html -> the files it names (the entry script, modulepreloads, the stylesheet, the
    preloaded font, the icon, the manifest) and, as they arrive, the scripts each module
    imports and the fonts each stylesheet uses -> /_stcore/health (it sets Streamlit's XSRF
    cookie) and /_stcore/host-config -> the websocket. Once the first run has drawn the
    page, the frontend loads the lazy chunk of each element type it received (the metric,
    the custom component, the file uploader, ...) with their imports: `element_chunks`. The
    live view's first chart loads plotly.min.js from the app's component route: `fetch`.

Like a browser: up to six keep-alive HTTP/1.1 connections per tab, `Accept-Encoding: gzip`
(the body is counted as sent, never decompressed except to find links), cookies kept.
A hashed file's links never change, so they are parsed once per client process.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

CONNECTIONS = 6  # a browser's HTTP/1.1 connections per host
SERVED_BY_HEADER = "x-served-by"  # "nginx" on files the proxy served itself
ROUTE_COOKIE = "bp_route"  # the proxy's affinity cookie (deploy/nginx.conf.template)
XSRF_COOKIE = "_streamlit_xsrf"
HTTP_TIMEOUT = 60.0

_FETCHED_LINKS = {"modulepreload", "stylesheet", "preload", "icon", "shortcut icon", "manifest"}
_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")
_JS_IMPORT = re.compile(r'(?:\bfrom|\bimport)\s*"(\./[^"]+\.js)"')
_JS_LAZY = re.compile(r"import\(`(\./([A-Za-z0-9]+)\.[A-Za-z0-9_-]+\.js)`\)")
# Element types whose frontend chunk is named differently from the CamelCase of the type.
_CHUNK_OF = {
    "imgs": "ImageList",
    "arrow_data_frame": "DataFrame",
    "code": "StreamlitSyntaxHighlighter",
}

_links: dict[str, tuple[str, ...]] = {}  # path of a hashed file -> the paths it loads
_lazy: dict[str, dict[str, str]] = {}  # path of the entry script -> chunk name -> path


@dataclass
class PageLoad:
    """What fetching a batch of files cost."""

    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    by_proxy: int = 0  # files the proxy served itself (X-Served-By: nginx)
    entry: str = ""  # the entry script (its lazy chunks are found there)
    errors: list[str] = field(default_factory=list)

    def add(self, other: PageLoad) -> None:
        self.files += other.files
        self.bytes += other.bytes
        self.seconds = round(self.seconds + other.seconds, 3)
        self.by_proxy += other.by_proxy
        self.errors += other.errors


class Cookies(dict):
    """A browser's cookie jar for one host (name -> value)."""

    def header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.items())

    def absorb(self, headers: list[tuple[str, str]]) -> None:
        for name, value in headers:
            if name.lower() == "set-cookie":
                key, _, val = value.split(";", 1)[0].partition("=")
                self[key.strip()] = val.strip()


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")


class Connection:
    """One keep-alive HTTP/1.1 connection (reopened when the server closes it)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.netloc = parts.netloc
        self.reader = self.writer = None

    async def request(
        self, method: str, path: str, cookies: Cookies, headers: dict | None = None, body=b""
    ) -> Response:
        for attempt in (0, 1):  # a kept-alive connection the server closed: reopen once
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            try:
                return await asyncio.wait_for(
                    self._exchange(method, path, cookies, headers or {}, body), HTTP_TIMEOUT
                )
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, method, path, cookies, headers, body) -> Response:
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.netloc}",
            "Accept-Encoding: gzip, deflate",
            "Connection: keep-alive",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        if cookies:
            lines.append(f"Cookie: {cookies.header()}")
        if body:
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        got: list[tuple[str, str]] = []
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            got.append((name.strip(), value.strip()))
        response = Response(status, got, b"")
        response.body = await self._body(response, method)
        cookies.absorb(got)
        if response.header("connection").lower() == "close":
            self.close()
        return response

    async def _body(self, response: Response, method: str) -> bytes:
        if method == "HEAD" or response.status in (204, 304):
            return b""
        if response.header("transfer-encoding").lower() == "chunked":
            parts = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append(await self.reader.readexactly(size + 2))
            await self.reader.readuntil(b"\r\n")
            return b"".join(p[:-2] for p in parts)
        length = response.header("content-length")
        if length:
            return await self.reader.readexactly(int(length))
        body = await self.reader.read()
        self.close()
        return body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class _PageLinks(HTMLParser):
    """The files index.html makes a browser fetch: scripts and the links it loads."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.found.append(a["src"])
        elif tag == "link" and a.get("href") and (a.get("rel") or "").lower() in _FETCHED_LINKS:
            self.found.append(a["href"])


def _page_links(html: str) -> list[str]:
    parser = _PageLinks()
    parser.feed(html)
    return [u for u in parser.found if "://" not in u and not u.startswith("//")]


def _text(response: Response) -> str:
    body = response.body
    if response.header("content-encoding").lower() == "gzip":
        body = gzip.decompress(body)
    return body.decode("utf-8", errors="replace")


def _links_in(path: str, response: Response) -> tuple[str, ...]:
    """The same-origin files a browser loads because of this one (parsed once per hash)."""
    if path in _links:
        return _links[path]
    if path.endswith(".css"):
        found = [u for u in _CSS_URL.findall(_text(response)) if not u.startswith("data:")]
    elif path.endswith(".js"):
        text = _text(response)
        found = _JS_IMPORT.findall(text)
        lazy = {name: urljoin(path, rel) for rel, name in _JS_LAZY.findall(text)}
        if lazy:
            _lazy[path] = lazy
    else:
        return ()
    links = tuple(dict.fromkeys(urlsplit(urljoin(path, u)).path for u in found))
    if "/static/" in path:  # hashed: immutable
        _links[path] = links
    return links


async def fetch_all(
    url: str, paths: list[str], cookies: Cookies, follow: bool = True, seen: set | None = None
) -> PageLoad:
    """GET `paths` (and, with `follow`, what each loads) over CONNECTIONS connections."""
    seen = set() if seen is None else seen
    queue: asyncio.Queue[str] = asyncio.Queue()
    for p in paths:
        if p not in seen:
            seen.add(p)
            queue.put_nowait(p)
    load, began = PageLoad(), time.monotonic()

    async def worker() -> None:
        conn = Connection(url)
        try:
            while True:
                path = await queue.get()
                try:
                    await fetch_one(conn, path)
                finally:
                    queue.task_done()
        finally:
            conn.close()

    async def fetch_one(conn: Connection, path: str) -> None:
        try:
            response = await conn.request("GET", path, cookies)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as err:
            load.errors.append(f"GET {path}: {type(err).__name__}: {err}")
            return
        load.files += 1
        load.bytes += len(response.body)
        load.by_proxy += response.header(SERVED_BY_HEADER) == "nginx"
        if response.status != 200:
            load.errors.append(f"GET {path}: HTTP {response.status}")
            return
        for link in _links_in(path, response) if follow else ():
            if link not in seen:
                seen.add(link)
                queue.put_nowait(link)

    workers = [asyncio.create_task(worker()) for _ in range(CONNECTIONS)]
    try:
        await queue.join()
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    load.seconds = round(time.monotonic() - began, 3)
    return load


def socket_url(url: str, path: str) -> str:
    """The ws:// (or wss://) address of `path` on the server at `url`."""
    parts = urlsplit(url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{path}"


async def open_socket(url: str, path: str, cookies: Cookies, subprotocols=None):
    """Open a WebSocket as the browser does: with the tab's cookies, no proxy, no pings of
    its own (it answers the server's), any message size."""
    cookie = cookies.header()
    return await connect(
        socket_url(url, path),
        subprotocols=subprotocols,
        additional_headers={"Cookie": cookie} if cookie else {},
        proxy=None,
        max_size=None,
        ping_interval=None,
        open_timeout=30,
    )


class Tab:
    """A browser tab's HTTP side: its cookies and the files it has loaded (loaded once)."""

    def __init__(self, url: str, cookies: Cookies | None = None) -> None:
        self.url = url
        self.base = urlsplit(url).path.rstrip("/")
        self.cookies = cookies if cookies is not None else Cookies()
        self.loaded: set[str] = set()
        self.entry = ""  # the entry script: its lazy chunks are found there
        self.frame_socket = None  # the live view's fast frames (a websockets client)

    async def open_page(self, query: str = "", assets: bool = True) -> PageLoad:
        """What a browser fetches before it opens the websocket; the cookie jar fills up."""
        conn = Connection(self.url)
        began = time.monotonic()
        try:
            index = await conn.request(
                "GET", f"{self.base}/" + (f"?{query}" if query else ""), self.cookies
            )
        finally:
            conn.close()
        load = PageLoad(files=1, bytes=len(index.body))
        load.by_proxy += index.header(SERVED_BY_HEADER) == "nginx"
        if index.status != 200:
            load.errors.append(f"GET /: HTTP {index.status}")
            return load
        root = f"{self.base}/"
        names = [urlsplit(urljoin(root, u)).path for u in _page_links(_text(index))]
        self.entry = next((n for n in names if "/static/js/index." in n), "")
        if assets:
            load.add(await fetch_all(self.url, names, self.cookies, seen=self.loaded))
        # The frontend checks the server, then reads its host configuration, then connects.
        core = [f"{self.base}/_stcore/health", f"{self.base}/_stcore/host-config"]
        load.add(await fetch_all(self.url, core, self.cookies, follow=False))
        load.seconds = round(time.monotonic() - began, 3)
        return load

    async def element_chunks(self, element_types: set[str]) -> PageLoad:
        """Fetch what the browser loads to draw these elements (not loaded before)."""
        paths = chunk_paths(self.entry, element_types)
        return await fetch_all(self.url, paths, self.cookies, seen=self.loaded)

    async def fetch(self, path: str) -> PageLoad:
        """One file the page loads while it runs (e.g. a component's script), once per tab."""
        return await fetch_all(self.url, [path], self.cookies, follow=False, seen=self.loaded)

    async def ask_frame(self, path: str) -> dict | None:
        """Ask for a live-view fast frame as liveview.js does: `path`'s query as a message on
        the frame socket at its path (kept open; the proxy's cookie rides on its opening). The
        JSON answer; None on an error or a body that is not JSON (the socket is dropped)."""
        route, _, query = path.partition("?")
        try:
            if self.frame_socket is None:
                self.frame_socket = await open_socket(self.url, route, self.cookies)
            await self.frame_socket.send(query)
            body = json.loads(await self.frame_socket.recv())
        except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake, ValueError):
            await self.close()
            return None
        return body if isinstance(body, dict) else None

    async def close(self) -> None:
        """Close the frame socket (the tab leaves, or it failed)."""
        socket, self.frame_socket = self.frame_socket, None
        if socket is not None:
            with contextlib.suppress(Exception):
                await socket.close()

    async def health(self) -> Response:
        """What the frontend asks before it reconnects its websocket."""
        conn = Connection(self.url)
        try:
            return await conn.request("GET", f"{self.base}/_stcore/health", self.cookies)
        finally:
            conn.close()

    async def put_upload(self, session_id: str) -> int:
        """PUT a small file to this session's upload endpoint, as the file uploader does; the
        status (204 when the process holds the session, 400 "Invalid session_id" when not)."""
        boundary = "----loadtest"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="a.csv"\r\nContent-Type: text/csv\r\n\r\nx,y\r\n1,2\r\n'
            f"--{boundary}--\r\n"
        ).encode()
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "X-Xsrftoken": self.cookies.get(XSRF_COOKIE, ""),
        }
        path = f"{self.base}/_stcore/upload_file/{session_id}/load-test-file"
        conn = Connection(self.url)
        try:
            return (await conn.request("PUT", path, self.cookies, headers, body)).status
        finally:
            conn.close()


def chunk_paths(entry: str, element_types: set[str]) -> list[str]:
    """The lazy chunks the frontend loads for these element types (known once the entry
    script was fetched in this process)."""
    lazy = _lazy.get(entry, {})
    names = {_CHUNK_OF.get(t, "".join(w.capitalize() for w in t.split("_"))) for t in element_types}
    return sorted(lazy[n] for n in names if n in lazy)
