"""TCP_NODELAY on the app's connections (playground/no_delay.py)."""

from __future__ import annotations

import contextlib
import socket

from playground import no_delay


class Transport:
    def __init__(self, sock) -> None:
        self.sock = sock

    def get_extra_info(self, name):
        return self.sock if name == "socket" else None


def _accepted_like_streamlit():
    """A connection accepted by a listener bound as Streamlit binds it (protocol 0): asyncio
    leaves Nagle's algorithm on for such sockets."""
    listener = socket.socket(family=socket.AF_INET)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    return listener, client, accepted


def test_an_accepted_connection_gets_no_delay():
    listener, client, accepted = _accepted_like_streamlit()
    try:
        assert accepted.proto == 0  # why asyncio does not set it
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        assert no_delay.set_no_delay(Transport(accepted))
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        for sock in (listener, client, accepted):
            sock.close()


def test_a_unix_socket_or_no_socket_is_left_alone():
    left, right = socket.socketpair()
    try:
        assert not no_delay.set_no_delay(Transport(left))
        assert not no_delay.set_no_delay(Transport(None))
        assert not no_delay.set_no_delay(None)
    finally:
        left.close()
        right.close()


def test_install_wraps_uvicorns_http_protocol_once_and_it_sets_no_delay():
    from uvicorn.protocols.http.h11_impl import H11Protocol

    wrapped = no_delay.install()
    assert H11Protocol in wrapped
    made = H11Protocol.connection_made
    no_delay.install()
    assert H11Protocol.connection_made is made  # not wrapped twice
    assert getattr(made, no_delay.WRAPPED)
    listener, client, accepted = _accepted_like_streamlit()
    try:
        # A bare protocol: uvicorn's own connection_made fails on it, after ours has run.
        with contextlib.suppress(Exception):
            made(object.__new__(H11Protocol), Transport(accepted))
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        for sock in (listener, client, accepted):
            sock.close()
